/**
 * One run at a time: a lock file created exclusively, holding the owner's pid. A lock whose
 * owner is gone (a crash) is taken over; a live owner makes the new run stop with a clear message.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LockError } from './errors.ts';

export interface Lock {
  readonly path: string;
  release(): void;
}

export function acquireLock(path: string): Lock {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      // link(2) publishes the lock with its pid already written: no reader sees an empty lock.
      const temp = `${path}.${process.pid}.tmp`;
      const fd = openSync(temp, 'w', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      try {
        linkSync(temp, path);
      } finally {
        unlinkSync(temp);
      }
      return {
        path,
        release: () => {
          // Only remove the lock if it is still ours.
          if (readOwner(path) === process.pid) unlinkSync(path);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new LockError('LOCK_UNAVAILABLE', `cannot create lock file ${path}: ${(error as Error).message}`);
      }
    }
    const owner = readOwner(path);
    if (owner !== undefined && isAlive(owner)) {
      throw new LockError(
        'LOCK_HELD',
        `another dom0-update is running (pid ${owner}, lock file ${path}); wait for it to finish`,
      );
    }
    // Stale: move it aside under a unique name so two runs cannot both delete a fresh lock.
    try {
      const aside = `${path}.stale.${process.pid}`;
      renameSync(path, aside);
      unlinkSync(aside);
    } catch {
      // Someone else cleared it first; retry the exclusive create.
    }
  }
  throw new LockError('LOCK_HELD', `could not take the lock file ${path}; another dom0-update may be starting`);
}

function readOwner(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
