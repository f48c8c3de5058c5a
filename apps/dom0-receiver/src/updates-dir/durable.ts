import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { diagnose } from '../output/diagnostics.ts';
import { TMP_PREFIX } from './layout.ts';

/** fsync a directory so the names created, renamed or removed in it survive a crash. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` atomically: write a temporary file, fsync it, rename it over, fsync the dir.
 * Throws only while the old content is still in place.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `${TMP_PREFIX}${basename(path)}.${randomBytes(4).toString('hex')}`);
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncDirAfterRename(dir, `${path} is written`);
}

/**
 * fsync `dir` after a rename in it that readers already see: a failed sync cannot undo the rename,
 * so it is told on stderr (`done` says what is in place) instead of thrown.
 */
export async function syncDirAfterRename(dir: string, done: string): Promise<void> {
  try {
    await syncDir(dir);
  } catch (error) {
    diagnose(`${done}, but syncing ${dir} failed (${(error as NodeJS.ErrnoException).code ?? 'error'}); after a crash the previous one may be back`);
  }
}
