import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, readFile, realpath, rename, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { processEnded } from '../config/stage-user.ts';
import { ReceiverError } from '../errors.ts';
import { diagnose } from '../output/diagnostics.ts';
import { pauseIfRequested } from '../test-hooks/pause.ts';
import { LOCK_NEW_INFIX } from './layout.ts';
import { readOwnFile } from './read-own-file.ts';

/** Held while a receiver works in the updates dir, so two never stage or publish at once. */
export interface Lock {
  release(): Promise<void>;
}

const LOCK_LINE = /^(\d{1,10}) (\d{1,20})\n$/;
/** Longer than any lock line; a bigger file is junk and read as stale. */
const MAX_LOCK_BYTES = 64;

/**
 * The kernel's start time of a running process (clock ticks since boot); pid + start time survive
 * pid reuse. Undefined for a zombie (killed, not yet reaped by its parent): it has ended and holds nothing.
 */
async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // field 22 of stat; fields[0] here is field 3
    return processEnded(String(pid)) ? undefined : fields[19];
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
    return await readOwnFile(path, MAX_LOCK_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // a symlink, a FIFO or other junk where the lock should be: treat as stale, it gets renamed away
    return '';
  }
}

/**
 * The mutual exclusion itself: a name in Linux's abstract socket namespace, one per lock path,
 * bound while a receiver holds the lock. The kernel frees it when the receiver ends, however it
 * ends (kill -9, the OOM killer, a power cut), so no stale state can be fought over. A lock file
 * alone could not do that: breaking a stale one takes a read and a rename that other receivers
 * can interleave, and several were seen past the lock at once, one deleting another's
 * generation. Undefined when another receiver holds the name.
 */
async function bindMutex(path: string): Promise<Server | undefined> {
  const canonical = join(await realpath(dirname(path)), basename(path));
  const name = `\0dom0-receiver-lock:${createHash('sha256').update(canonical).digest('hex')}`;
  // nothing is served: a process that connects is dropped at once
  const server = createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(undefined);
      else reject(error);
    });
    server.listen({ path: name }, () => {
      // held for the process's life, never waited on: it must not keep the process alive
      server.unref();
      resolve(server);
    });
  });
}

/** ` (pid N)` from a lock file's `<pid> <start time>`; nothing when it holds anything else. */
function holderOf(lockText: string | undefined): string {
  const pid = /^([1-9][0-9]{0,9}) [0-9]{1,20}\n?$/.exec(lockText ?? '')?.[1];
  return pid === undefined ? '' : ` (pid ${pid})`;
}

/**
 * Takes the lock: first the kernel mutex (bindMutex), then the lock file with O_EXCL, which names
 * the holder (pid and start time) for people and for receivers that cannot see the mutex (another
 * network namespace: abstract socket names are per namespace). With the mutex held, a lock file
 * whose owner no longer runs is stale (a receiver killed with -9) and is removed; it is renamed
 * away and re-read first, so that two receivers in different namespaces cannot both take it.
 */
export async function acquireLock(path: string): Promise<Lock> {
  const mutex = await bindMutex(path);
  if (mutex === undefined) {
    throw new ReceiverError('RECEIVER_BUSY', `another receiver${holderOf(await readLock(path))} holds ${path}`);
  }
  try {
    const fileLock = await acquireLockFile(path);
    return {
      release: async () => {
        try {
          await fileLock.release();
        } finally {
          mutex.close();
        }
      },
    };
  } catch (error) {
    mutex.close();
    throw error;
  }
}

/**
 * Creates `path` holding `content`, or says it exists. The file is written under a fresh name and
 * linked into place, so a lock file never exists empty: a receiver in another namespace that read
 * one between an O_EXCL create and its write took it for stale, broke it and worked beside us.
 */
async function createFilled(path: string, content: string): Promise<boolean> {
  const fresh = `${path}${LOCK_NEW_INFIX}${randomBytes(4).toString('hex')}`;
  const handle = await open(fresh, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await pauseIfRequested('lock-file-filled');
    await link(fresh, path);
    return true;
  } catch (error) {
    // ENOENT: another receiver's recovery swept our fresh file, so it holds the lock: busy, as EEXIST
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOENT') return false;
    throw error;
  } finally {
    await rm(fresh, { force: true });
  }
}

async function acquireLockFile(path: string): Promise<Lock> {
  const ours = `${process.pid} ${(await startTime(process.pid)) ?? '0'}\n`;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (await createFilled(path, ours)) {
      return {
        release: async () => {
          try {
            if ((await readLock(path)) === ours) await rm(path, { force: true });
          } catch (error) {
            // (a read-only or failing file system) the kernel mutex is freed all the same, and a
            // lock file whose holder has ended is stale to the next receiver
            diagnose(`could not remove the lock file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); the next receive takes it as stale`);
          }
        },
      };
    }
    const seen = await readLock(path);
    if (seen === undefined) continue;
    if (await ownerIsAlive(seen)) {
      throw new ReceiverError('RECEIVER_BUSY', `another receiver${holderOf(seen)} holds ${path}`);
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
    // recursive: a directory planted at the lock's name goes too
    await rm(aside, { recursive: true, force: true });
  }
  throw new ReceiverError('RECEIVER_BUSY', `could not take ${path}`);
}
