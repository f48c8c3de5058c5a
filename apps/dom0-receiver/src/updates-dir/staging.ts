import { constants } from 'node:fs';
import { chmod, chown, lchown, mkdtemp, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { diagnose } from '../output/diagnostics.ts';
import { STAGING_PREFIX } from './layout.ts';
import { removeTree } from './remove-tree.ts';

export interface StageOwner {
  readonly uid: number;
  readonly gid: number;
  /** A uid/gid chosen for this run alone: every process holding it is the stage's. */
  readonly dynamic: boolean;
}

/** A fresh private (0700) directory for one batch, owned by the user the stage runs as. */
export async function createStagingDir(updatesDir: string, owner: StageOwner | undefined): Promise<string> {
  const dir = await mkdtemp(join(updatesDir, STAGING_PREFIX));
  if (owner !== undefined) await chown(dir, owner.uid, owner.gid);
  return dir;
}

/**
 * Takes the staging dir back from the stage user once none of its processes is left: the dir
 * belongs to the receiver first (so nothing new can appear in it), then each entry that is a
 * regular file with one link is re-owned and made read-only to others through its own descriptor.
 * Anything else (a symlink, a hard link to a file elsewhere, a fifo, a directory) is left exactly
 * as it is, never followed or changed, and the staged check refuses the batch.
 */
export async function sealStagingDir(dir: string): Promise<void> {
  const uid = process.geteuid?.();
  const gid = process.getegid?.();
  if (uid === undefined || gid === undefined) return;
  await lchown(dir, uid, gid);
  await chmod(dir, 0o700);
  for (const name of await readdir(dir)) {
    let handle;
    try {
      handle = await open(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      continue; // a symlink (ELOOP) or something that cannot be opened: left for the staged check
    }
    try {
      const info = await handle.stat();
      if (!info.isFile() || info.nlink !== 1) continue;
      await handle.chown(uid, gid);
      await handle.chmod(0o644);
    } finally {
      await handle.close();
    }
  }
}

/**
 * Removes the staging dir, best effort: a failure (a file system gone read-only or dead) is told
 * on stderr and does not replace the batch's own outcome; the next receive's recovery removes
 * what is left, and nothing in a staging dir is ever published from it later.
 */
export async function removeStagingDir(dir: string): Promise<void> {
  try {
    await removeTree(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    diagnose(`could not remove ${dir} (${code}); the next receive removes it`);
  }
}
