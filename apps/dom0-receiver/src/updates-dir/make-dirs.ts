import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

/**
 * `mkdir -p` that fails with the errno of the mkdir that failed. Node's recursive mkdir does not:
 * after EROFS (a read-only file system) it stats the missing path and reports that ENOENT, and
 * where mkdir says ENOENT under an existing parent (/proc) it retries that parent forever.
 * `path` must be absolute. An existing directory (or a link to one) is success, as with `mkdir -p`.
 */
export async function makeDirs(path: string, mode: number): Promise<void> {
  // climb to the deepest ancestor that exists (or was just created), then create the rest top down
  const missing: string[] = [];
  let dir = path;
  for (;;) {
    try {
      await mkdir(dir, { mode });
      break;
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'EEXIST') {
        if (dir === path) return existingDir(path, error);
        // an ancestor that is no directory: its child's mkdir below names it (ENOTDIR)
        break;
      }
      if (code !== 'ENOENT' || dirname(dir) === dir) throw error;
      missing.push(dir);
      dir = dirname(dir);
    }
  }
  for (const child of missing.reverse()) {
    try {
      await mkdir(child, { mode });
    } catch (error) {
      // created by someone else in between: fine if it is a directory
      if (errnoOf(error) !== 'EEXIST') throw error;
      await existingDir(child, error);
    }
  }
}

async function existingDir(path: string, mkdirError: unknown): Promise<void> {
  const stats = await stat(path).catch(() => undefined);
  if (stats?.isDirectory() !== true) throw mkdirError;
}
