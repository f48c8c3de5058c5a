import { chmod, chown, lchown, lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { STAGING_PREFIX } from './layout.ts';

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
 * and every entry belong to the receiver, and files are read-only to everyone else. lchown, so
 * a symlink the stage planted is never followed (the staged check refuses it anyway).
 */
export async function sealStagingDir(dir: string): Promise<void> {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  if (uid === undefined || gid === undefined) return;
  await lchown(dir, uid, gid);
  await chmod(dir, 0o700);
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    await lchown(path, uid, gid);
    if ((await lstat(path)).isFile()) await chmod(path, 0o644);
  }
}

export async function removeStagingDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
