import { chown, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { STAGING_PREFIX } from './layout.ts';

export interface StageOwner {
  readonly uid: number;
  readonly gid: number;
}

/** A fresh private (0700) directory for one batch, owned by the user the stage runs as. */
export async function createStagingDir(updatesDir: string, owner: StageOwner | undefined): Promise<string> {
  const dir = await mkdtemp(join(updatesDir, STAGING_PREFIX));
  if (owner !== undefined) await chown(dir, owner.uid, owner.gid);
  return dir;
}

export async function removeStagingDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
