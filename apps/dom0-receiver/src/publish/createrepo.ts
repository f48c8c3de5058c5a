import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, statfs } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterDelay } from '@dom0-updates/protocol';
import { execa } from 'execa';
import { TMP_PREFIX } from '../updates-dir/layout.ts';
import { PublishError } from '../errors.ts';
import { writeChecksumCache, type ChecksumCacheEntry } from './checksum-cache.ts';
import { checkRepodata } from './repodata-check.ts';
import { tiedToReceiver } from './tied-to-receiver.ts';

export interface CreaterepoOptions {
  /** The previous generation, whose metadata entries createrepo_c may take over (see below). */
  readonly reuseFrom?: string | undefined;
  /** The verified SHA-256 of new packages, so createrepo_c does not hash them again. */
  readonly checksums?: readonly ChecksumCacheEntry[];
  /** The packages of this batch: createrepo_c must read each of them. */
  readonly newFiles?: readonly string[];
  /** A signal to the receiver: createrepo_c is stopped, as nothing is published before the switch. */
  readonly cancel?: AbortSignal;
  /** How long createrepo_c may take (a stuck disk, a stopped process must not hold the lock forever). */
  readonly timeoutMs?: number;
}

/** After SIGTERM, how long createrepo_c has before SIGKILL (a stopped one never sees the SIGTERM). */
const KILL_GRACE_MS = 2_000;

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
export async function runCreaterepo(dir: string, scratchDir: string, options: CreaterepoOptions = {}): Promise<CreaterepoRun> {
  const { reuseFrom, checksums = [], newFiles = [], cancel, timeoutMs } = options;
  const reuse = reuseFrom === undefined ? [] : ['--update', '--update-md-path', reuseFrom];
  // the verified SHA-256 of each new package, so createrepo_c does not hash it again
  const cacheDir = checksums.length === 0 ? undefined : await writeChecksumCache(scratchDir, dir, checksums);
  const cache = cacheDir === undefined ? [] : ['--cachedir', cacheDir];
  // the names of the packages createrepo_c actually read (a crash leaves it to recovery's .tmp. sweep)
  const readList = join(scratchDir, `${TMP_PREFIX}createrepo-read.${randomBytes(4).toString('hex')}`);
  try {
    const workers = String(Math.max(1, availableParallelism()));
    const command = await tiedToReceiver('createrepo_c', ['--quiet', '--no-database', '--workers', workers, '--read-pkgs-list', readList, ...cache, ...reuse, dir]);
    // not execa's `timeout`: a --timeout past 2^31 ms (24.8 days) would fire after 1 ms
    const expired = new AbortController();
    const cancelTimer = timeoutMs === undefined ? () => undefined : afterDelay(timeoutMs, () => expired.abort());
    let result;
    try {
      result = await execa(command.file, command.args, {
        reject: false,
        stdin: 'ignore',
        all: true,
        env: { LC_ALL: 'C' },
        extendEnv: true,
        // its own process group: a terminal's Ctrl-C goes to the receiver, which decides
        detached: true,
        cancelSignal: cancel === undefined ? expired.signal : AbortSignal.any([cancel, expired.signal]),
        forceKillAfterDelay: KILL_GRACE_MS,
      });
    } finally {
      cancelTimer();
    }
    // stopped by us: the batch is not published, for the reason that stopped it
    if (result.isCanceled) {
      throw new PublishError(
        'CREATEREPO_FAILED',
        expired.signal.aborted && cancel?.aborted !== true
          ? `createrepo_c did not finish within ${String(Math.round((timeoutMs ?? 0) / 1000))} s (--timeout) and was stopped`
          : 'createrepo_c was stopped by a signal to the receiver',
      );
    }
    if (result.exitCode === undefined && result.signal === undefined) {
      // it never ran: ENOENT when createrepo_c is not installed (or not in PATH)
      const missing = result.code === 'ENOENT' ? 'createrepo_c is not installed (not found in PATH)' : `createrepo_c could not be run (${result.code ?? 'unknown error'})`;
      throw new PublishError('CREATEREPO_FAILED', missing);
    }
    if (result.exitCode !== 0 || result.failed) {
      const output = typeof result.all === 'string' ? result.all.slice(0, 2000) : '';
      // a signal the receiver did not send (it stops createrepo_c only through cancelSignal, above)
      const how = result.signal === undefined ? `exit ${String(result.exitCode)}` : `killed by ${result.signal}, not by this receiver`;
      throw new PublishError('CREATEREPO_FAILED', `createrepo_c failed (${how}): ${output.trim() === '' ? 'it printed nothing' : output}`);
    }
    const read = new Set((await readFile(readList, 'utf8')).split('\n').filter((line) => line.endsWith('.rpm')));
    // createrepo_c skips a package it cannot read and still exits 0; the metadata would then not
    // list a package the result record calls published. Without reuse it had to read every one.
    const mustRead = reuseFrom === undefined ? (await readdir(dir)).filter((name) => name.endsWith('.rpm')) : newFiles;
    const skipped = mustRead.filter((name) => !read.has(name)).sort();
    if (skipped.length > 0) {
      const shown = skipped.slice(0, 5).join(', ') + (skipped.length > 5 ? `, and ${String(skipped.length - 5)} more` : '');
      throw new PublishError('CREATEREPO_FAILED', `createrepo_c left ${String(skipped.length)} package(s) out of the metadata: ${shown}`, skipped[0]);
    }
    await checkRepodata(dir);
    return { packagesRead: read.size };
  } catch (error) {
    // createrepo_c says a full disk as "gzclose(): file operation error" or leaves an empty repomd.xml
    if (error instanceof PublishError && error.code === 'CREATEREPO_FAILED') {
      const note = await lowSpaceNote(dir);
      if (note !== undefined) throw new PublishError('CREATEREPO_FAILED', `${error.message}; ${note}`, error.member);
    }
    throw error;
  } finally {
    await rm(readList, { force: true });
    if (cacheDir !== undefined) await rm(cacheDir, { recursive: true, force: true });
  }
}

/** Below this much free space a failed createrepo_c run says how little there was. */
const LOW_SPACE_BYTES = 16 * 1024 * 1024;

async function lowSpaceNote(dir: string): Promise<string | undefined> {
  try {
    const fs = await statfs(dir);
    const free = fs.bavail * fs.bsize;
    if (free >= LOW_SPACE_BYTES) return undefined;
    return `the updates dir's file system has only ${String(Math.floor(free / 1024))} KiB free, which may be why`;
  } catch {
    return undefined;
  }
}
