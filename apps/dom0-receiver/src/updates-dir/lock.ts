import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { ReceiverError } from '../errors.ts';

/** Held while a receiver works in the updates dir, so two never stage or publish at once. */
export interface Lock {
  release(): Promise<void>;
}

const LOCK_LINE = /^(\d{1,10}) (\d{1,20})\n$/;

/** The kernel's start time of a process (clock ticks since boot); pid + start time survive pid reuse. */
async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // field 22 of stat; fields[0] here is field 3
    return fields[19];
  } catch {
    return undefined;
  }
}

async function ownerIsAlive(content: string): Promise<boolean> {
  const match = LOCK_LINE.exec(content);
  if (match?.[1] === undefined) return false;
  const started = await startTime(Number(match[1]));
  return started !== undefined && started === match[2];
}

async function readLock(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // a symlink or other junk where the lock should be: treat as stale, it gets renamed away
    return '';
  }
}

/**
 * Takes the lock file with O_EXCL. A lock whose owner (pid and start time) no longer runs is
 * stale (a receiver killed with -9): it is renamed away, then re-read, so that two receivers that
 * both found it stale cannot both take it.
 */
export async function acquireLock(path: string): Promise<Lock> {
  const ours = `${process.pid} ${(await startTime(process.pid)) ?? '0'}\n`;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        await handle.writeFile(ours);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return {
        release: async () => {
          if ((await readLock(path)) === ours) await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const seen = await readLock(path);
    if (seen === undefined) continue;
    if (await ownerIsAlive(seen)) {
      throw new ReceiverError('RECEIVER_BUSY', `another receiver (${seen.trim()}) holds ${path}`);
    }
    const aside = `${path}.stale.${randomBytes(4).toString('hex')}`;
    try {
      await rename(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = await readLock(aside);
    if (moved !== seen) {
      // someone else broke the stale lock and took it between our read and our rename: give it back
      await rename(aside, path);
      throw new ReceiverError('RECEIVER_BUSY', `another receiver took ${path} at the same time`);
    }
    await rm(aside, { force: true });
  }
  throw new ReceiverError('RECEIVER_BUSY', `could not take ${path}`);
}
