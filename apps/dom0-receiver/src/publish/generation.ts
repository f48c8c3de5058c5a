import { randomBytes } from 'node:crypto';
import { chmod, chown, link, lstat, mkdir, readdir, rename, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { timed, type PhaseProfile } from '../output/profile.ts';
import { pauseIfRequested } from '../test-hooks/pause.ts';
import { syncDir, syncDirAfterRename, syncFile } from '../updates-dir/durable.ts';
import { currentGeneration } from '../updates-dir/generations.ts';
import { GENERATIONS_DIR, TMP_PREFIX, type Layout } from '../updates-dir/layout.ts';
import type { ChecksumCacheKey } from './checksum-cache.ts';
import { carryPreviousMetadata } from './carry-metadata.ts';
import { runCreaterepo, type CreaterepoOptions } from './createrepo.ts';
import type { AcceptedPackage } from './result-record.ts';

export function generationId(sequence: number): string {
  return `${String(sequence).padStart(12, '0')}-${randomBytes(4).toString('hex')}`;
}

async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else if (entry.isFile()) await syncFile(path);
  }
  await syncDir(dir);
}

/**
 * Builds generations/<id>: the previous generation's packages (hard links: generations are
 * immutable), the newly verified ones moved in from staging (owned by us, mode 0644), then
 * createrepo_c, then the previous generation's metadata files (see carry-metadata.ts).
 * Everything is fsynced; the published `repo` link is not touched.
 */
export async function buildGeneration(
  layout: Layout,
  stagingDir: string,
  accepted: readonly AcceptedPackage[],
  id: string,
  cacheKeys: ReadonlyMap<string, ChecksumCacheKey>,
  profile?: PhaseProfile,
  createrepo: Pick<CreaterepoOptions, 'cancel' | 'timeoutMs'> = {},
): Promise<string> {
  const linked = performance.now();
  await mkdir(layout.generations, { recursive: true, mode: 0o755 });
  const dir = join(layout.generations, id);
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
  const incoming = new Set(accepted.map((p) => p.file));
  const previous = await currentGeneration(layout);
  const prevDir = previous === undefined ? undefined : join(layout.generations, previous);
  let reuseFrom: string | undefined;
  if (prevDir !== undefined) {
    let replaced = false;
    for (const name of await readdir(prevDir)) {
      if (!name.endsWith('.rpm')) continue;
      if (incoming.has(name)) {
        replaced = true;
        continue;
      }
      // the receiver puts only regular files there: anything else is damage or a hand edit, and
      // leaving it out would drop a published package without a word
      if (!(await lstat(join(prevDir, name))).isFile()) {
        throw new ConfigError(
          'CONFIG_INVALID',
          `the published generation ${previous ?? ''} holds ${name}, which is not a regular file; \`dom0-receiver clean\` (dom0-update --clean) publishes an empty repository in its place`,
        );
      }
      await link(join(prevDir, name), join(dir, name));
    }
    // a replaced file could match its old metadata entry by name, size and mtime second alone
    if (!replaced) reuseFrom = prevDir;
  }
  const uid = process.geteuid?.();
  const gid = process.getegid?.();
  for (const pkg of accepted) {
    const target = join(dir, pkg.file);
    await rename(join(stagingDir, pkg.file), target);
    // the stage user wrote it; once published it belongs to the receiver and is read-only to others
    if (uid !== undefined && gid !== undefined) await chown(target, uid, gid);
    await chmod(target, 0o644);
  }
  profile?.add('generation', performance.now() - linked);
  await pauseIfRequested('after-generation');
  const metadata = await timed(profile, 'createrepo', () =>
    runCreaterepo(dir, layout.root, {
      ...createrepo,
      reuseFrom,
      newFiles: accepted.map((p) => p.file),
      checksums: accepted.flatMap((p) => {
        const cacheKey = cacheKeys.get(p.file);
        return cacheKey === undefined ? [] : [{ file: p.file, sha256: p.sha256, cacheKey }];
      }),
    }),
  );
  profile?.count('createrepo-read', metadata.packagesRead);
  await pauseIfRequested('after-createrepo');
  if (prevDir !== undefined) await carryPreviousMetadata(prevDir, dir);
  // new packages were fsynced by the stage; the metadata and every directory entry are synced here
  await timed(profile, 'sync-metadata', async () => {
    await syncTree(join(dir, 'repodata'));
    await syncDir(dir);
    await syncDir(layout.generations);
  });
  return dir;
}

/**
 * Builds generations/<id> with no packages: a repository dnf reads as empty (what `clean` publishes).
 */
export async function buildEmptyGeneration(layout: Layout, id: string): Promise<string> {
  await mkdir(layout.generations, { recursive: true, mode: 0o755 });
  const dir = join(layout.generations, id);
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
  await runCreaterepo(dir, layout.root);
  await syncTree(join(dir, 'repodata'));
  await syncDir(dir);
  await syncDir(layout.generations);
  return dir;
}

/**
 * The commit point: a new symlink renamed over `repo`. Readers see the old tree or the new one.
 * Once the rename is done the batch is published: a failed sync after it cannot undo that, so it
 * is told (a crash could still bring the old link back) rather than reported as a failed publish.
 */
export async function switchRepo(layout: Layout, id: string): Promise<void> {
  const tmp = join(layout.root, `${TMP_PREFIX}repo.${randomBytes(4).toString('hex')}`);
  await symlink(`${GENERATIONS_DIR}/${id}`, tmp);
  await rename(tmp, layout.repoLink);
  await syncDirAfterRename(layout.root, `generation ${id} is published`);
}
