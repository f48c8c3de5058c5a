import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pruneGenerations } from './generations.ts';
import { LOCK_FILE, STAGING_PREFIX, TMP_PREFIX, type Layout } from './layout.ts';
import { syncDir } from './durable.ts';

/**
 * Undoes what a receiver killed mid-run left behind (called with the lock held): staging dirs,
 * temporary files and symlinks, broken-lock leftovers, half-built generations.
 * The published `repo` link and its generation are never touched here.
 */
export async function recoverUpdatesDir(layout: Layout): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(layout.root)) {
    if (name.startsWith(STAGING_PREFIX) || name.startsWith(TMP_PREFIX) || name.startsWith(`${LOCK_FILE}.stale.`)) {
      await rm(join(layout.root, name), { recursive: true, force: true });
      removed.push(name);
    }
  }
  await pruneGenerations(layout);
  if (removed.length > 0) await syncDir(layout.root);
  return removed;
}
