import { lstat, readdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { pruneGenerations } from './generations.ts';
import { LOCK_FILE, LOCK_NEW_INFIX, STAGING_PREFIX, TMP_PREFIX, type Layout } from './layout.ts';
import { syncDir } from './durable.ts';
import { sweep } from './remove-tree.ts';

/**
 * generations/ is ours to fill and prune: a symlink there would put both outside the updates dir.
 * Returns what lstat says of it, or undefined when it does not exist yet.
 */
export async function checkGenerationsDir(layout: Layout): Promise<Stats | undefined> {
  let info;
  try {
    info = await lstat(layout.generations);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!info.isDirectory()) {
    throw new ConfigError('CONFIG_INVALID', `${layout.generations} exists but is not a directory (${info.isSymbolicLink() ? 'a symlink' : 'another kind of file'}); move it away`);
  }
  return info;
}

/**
 * Undoes what a receiver killed mid-run left behind (called with the lock held): staging dirs,
 * temporary files and symlinks, broken-lock leftovers, half-built generations.
 * `beforeStagingRemoval` sees each staging dir first (its owner is the stage uid of that run).
 * The published `repo` link and its generation are never touched here. What cannot be removed
 * is told and left: nothing reads it again, and it must not block every later receive.
 */
export async function recoverUpdatesDir(layout: Layout, beforeStagingRemoval?: (stagingDir: Stats) => Promise<void>): Promise<string[]> {
  await checkGenerationsDir(layout);
  const removed: string[] = [];
  for (const name of await readdir(layout.root)) {
    if (name.startsWith(STAGING_PREFIX) || name.startsWith(TMP_PREFIX) || name.startsWith(`${LOCK_FILE}.stale.`) || name.startsWith(`${LOCK_FILE}${LOCK_NEW_INFIX}`)) {
      const path = join(layout.root, name);
      if (name.startsWith(STAGING_PREFIX) && beforeStagingRemoval !== undefined) {
        const info = await lstat(path).catch(() => undefined);
        if (info?.isDirectory() === true) await beforeStagingRemoval(info);
      }
      if (await sweep(path, name)) removed.push(name);
    }
  }
  await pruneGenerations(layout);
  if (removed.length > 0) await syncDir(layout.root);
  return removed;
}
