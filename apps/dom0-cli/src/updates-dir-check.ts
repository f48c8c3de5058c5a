/**
 * The updates dir, checked before the UpdateVM is asked for anything: the receiver stages every
 * package there, so one it cannot write (on a read-only file system, a file in its path) would
 * otherwise be found only after the whole download.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ConfigError } from './errors.ts';

const codeOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

/** The updates dir, or the nearest of its parents that exists (the receiver creates the rest). */
function nearestExisting(dir: string): { readonly path: string; readonly isDirectory: boolean } {
  for (let path = dir; ; path = dirname(path)) {
    try {
      return { path, isDirectory: statSync(path).isDirectory() };
    } catch (error) {
      if (codeOf(error) !== 'ENOENT' || dirname(path) === path) throw error;
    }
  }
}

/**
 * Throws CONFIG_UPDATES_DIR_UNUSABLE when the receiver could not write the updates dir. `asReceiver`:
 * the receiver runs as this process's user (local transport), so a permission denied counts too;
 * under qrexec the receiver is dom0's qrexec service, which may run as another user, so only what
 * stops every user counts.
 */
export function checkUpdatesDir(dir: string, asReceiver: boolean): void {
  const unusable = (why: string): ConfigError =>
    new ConfigError('CONFIG_UPDATES_DIR_UNUSABLE', `UPDATES_DIR ${dir} cannot be used: ${why}; dom0's receiver could not stage any package there`);
  let nearest;
  try {
    nearest = nearestExisting(dir);
  } catch (error) {
    // ENOTDIR (a file in the path), ELOOP, EACCES on a parent: the receiver's mkdir would fail alike
    throw unusable(`${codeOf(error) ?? String(error)} on the way to it`);
  }
  if (!nearest.isDirectory) throw unusable(`${nearest.path} is not a directory`);
  // the receiver refuses a `*` in the dir's real path (the stage's write permission would read it
  // as a wildcard): through a symlinked parent too
  const real = join(realpathSync(nearest.path), relative(nearest.path, dir));
  if (real.includes('*')) throw unusable(`its real path ${real} contains '*', which the receiver refuses (a wildcard to its stage's write permission)`);
  try {
    accessSync(nearest.path, constants.W_OK);
  } catch (error) {
    const code = codeOf(error);
    if (!asReceiver && (code === 'EACCES' || code === 'EPERM')) return;
    throw unusable(`${nearest.path} is not writable (${code ?? String(error)}${code === 'EROFS' ? ': a read-only file system' : ''})`);
  }
}
