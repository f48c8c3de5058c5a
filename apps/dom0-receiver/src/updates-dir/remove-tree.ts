import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import { diagnose } from '../output/diagnostics.ts';

/**
 * Removes a file or directory tree in the updates dir, however deep. Node's recursive rm names
 * every entry by its full path, so a tree nested deeper than PATH_MAX (which a compromised stage
 * can build in its own staging dir) fails with ENAMETOOLONG on every try; coreutils rm walks by
 * directory descriptors and removes it. Symlinks are removed, never followed.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (error) {
    const fallback = await execa('rm', ['-rf', '--one-file-system', '--', path], { reject: false, stdin: 'ignore', env: { LC_ALL: 'C' } });
    if (fallback.exitCode !== 0) throw error;
  }
}

/**
 * Removes a leftover nothing depends on (an old or half-built generation, a staging dir, a
 * temporary file): a failure is told on stderr and the run goes on, so one entry that cannot be
 * removed (a read-only or immutable file, a dead disk) does not stop every later receive.
 * Returns whether it is gone.
 */
export async function sweep(path: string, shownAs: string): Promise<boolean> {
  try {
    await removeTree(path);
    return true;
  } catch (error) {
    diagnose(`could not remove ${shownAs} (${(error as NodeJS.ErrnoException).code ?? 'error'}); it stays on disk, unused`);
    return false;
  }
}
