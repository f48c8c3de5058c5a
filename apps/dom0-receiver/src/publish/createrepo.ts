import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { TMP_PREFIX } from '../updates-dir/layout.ts';
import { PublishError } from '../errors.ts';
import { writeChecksumCache, type ChecksumCacheEntry } from './checksum-cache.ts';

export interface CreaterepoRun {
  /** Packages createrepo_c read from disk (the others' entries came from the reused metadata). */
  readonly packagesRead: number;
}

/**
 * Regenerates the repository metadata of a generation. Runs in the parent, after every package
 * in the generation was verified, so createrepo_c's rpm parser only sees signed bytes.
 *
 * With `reuseFrom` (the previous generation, whose unchanged packages are hard links here, same
 * inode, size and mtime), createrepo_c takes their entries from that generation's metadata
 * instead of reading and hashing every package again. The caller passes it only when no new
 * package replaces a file of that generation, because createrepo_c tells files apart by name,
 * size and mtime (in seconds) alone.
 */
export async function runCreaterepo(
  dir: string,
  scratchDir: string,
  reuseFrom?: string,
  checksums: readonly ChecksumCacheEntry[] = [],
): Promise<CreaterepoRun> {
  const reuse = reuseFrom === undefined ? [] : ['--update', '--update-md-path', reuseFrom];
  // the verified SHA-256 of each new package, so createrepo_c does not hash it again
  const cacheDir = checksums.length === 0 ? undefined : await writeChecksumCache(scratchDir, dir, checksums);
  const cache = cacheDir === undefined ? [] : ['--cachedir', cacheDir];
  // the names of the packages createrepo_c actually read (a crash leaves it to recovery's .tmp. sweep)
  const readList = join(scratchDir, `${TMP_PREFIX}createrepo-read.${randomBytes(4).toString('hex')}`);
  try {
    const result = await execa(
      'createrepo_c',
      ['--quiet', '--no-database', '--workers', String(Math.max(1, availableParallelism())), '--read-pkgs-list', readList, ...cache, ...reuse, dir],
      // its own process group: a terminal's Ctrl-C goes to the receiver, which lets publication finish
      { reject: false, stdin: 'ignore', all: true, env: { LC_ALL: 'C' }, extendEnv: true, detached: true },
    );
    if (result.exitCode !== 0 || result.failed) {
      const output = typeof result.all === 'string' ? result.all.slice(0, 2000) : '';
      throw new PublishError('CREATEREPO_FAILED', `createrepo_c failed (exit ${String(result.exitCode)}): ${output}`);
    }
    const names = await readFile(readList, 'utf8');
    return { packagesRead: names.split('\n').filter((line) => line.endsWith('.rpm')).length };
  } finally {
    await rm(readList, { force: true });
    if (cacheDir !== undefined) await rm(cacheDir, { recursive: true, force: true });
  }
}
