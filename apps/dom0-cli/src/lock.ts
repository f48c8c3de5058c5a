/**
 * One run at a time. The exclusion itself is a name in Linux's abstract socket namespace, bound
 * while a run holds the lock: the kernel frees it when the run ends, however it ends, so no stale
 * state is ever fought over. Beside it, a lock file created exclusively names the holder (its pid
 * and the kernel's start time of that process, so a reused pid does not hold the lock) for people
 * and for runs in another network namespace, which cannot see the name. With the name held, a
 * lock file whose owner is gone (a crash) is taken over; a live owner makes the new run stop
 * with a clear message.
 */
import { createHash } from 'node:crypto';
import { closeSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { LockError } from './errors.ts';

export interface Lock {
  readonly path: string;
  /** Undefined, or what could not be undone (said as a warning: the run's outcome stands). */
  release(): string | undefined;
}

/** `PID START\n`, or `PID\n` as written before start times were recorded (and where /proc is missing). */
const LOCK_TEXT = /^([1-9][0-9]{0,9})(?: ([0-9]{1,20}))?\n?$/;

/** The kernel's start time of a process (clock ticks since boot, field 22 of its stat). */
function procStat(pid: number): { state: string | undefined; start: string | undefined } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields[0] is field 3 of stat (the state), fields[19] field 22 (the start time)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], start: fields[19] };
  } catch {
    return undefined;
  }
}

function startTime(pid: number): string | undefined {
  return procStat(pid)?.start;
}

function lockText(): string {
  const started = startTime(process.pid);
  return started === undefined ? `${process.pid}\n` : `${process.pid} ${started}\n`;
}

/** Binds the lock's abstract name; undefined when another run holds it. */
function bindMutex(path: string, canonical: string): Promise<Server | undefined> {
  const name = `\0dom0-update-lock:${createHash('sha256').update(canonical).digest('hex')}`;
  // nothing is served: a process that connects is dropped at once
  const server = createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(undefined);
      else reject(new LockError('LOCK_UNAVAILABLE', `cannot take the lock for ${path}: ${error.message}`));
    });
    server.listen({ path: name }, () => {
      // held for the run, never waited on: it must not keep the process alive
      server.unref();
      resolve(server);
    });
  });
}

export async function acquireLock(path: string): Promise<Lock> {
  let canonicalDir: string;
  try {
    makeParents(dirname(path));
    canonicalDir = realpathSync(dirname(path));
  } catch (error) {
    // mkdir -p reports a file standing where a directory belongs as EEXIST (or ENOTDIR below it)
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EEXIST' || code === 'ENOTDIR' ? `${dirname(path)} or one of its parents is not a directory (${code})` : (error as Error).message;
    throw new LockError('LOCK_UNAVAILABLE', `cannot make the lock file's directory ${dirname(path)}: ${reason}`);
  }
  const mutex = await bindMutex(path, join(canonicalDir, basename(path)));
  if (mutex === undefined) {
    const owner = parseOwner(readText(path) ?? '');
    throw new LockError('LOCK_HELD', `another dom0-update is running${owner === undefined ? '' : ` (pid ${owner.pid}, lock file ${path})`}; wait for it to finish`);
  }
  try {
    const fileLock = acquireLockFile(path);
    return {
      path,
      release: () => {
        try {
          return fileLock.release();
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
 * `mkdir -p`, one level at a time: Node's own recursive mkdir never returns for a path under
 * /proc (mkdir there fails with ENOENT below a directory that exists, and it retries for ever).
 */
function makeParents(dir: string): void {
  const missing = makeDir(dir);
  if (missing === undefined) return;
  if (dirname(dir) === dir) throw missing;
  makeParents(dirname(dir));
  const still = makeDir(dir);
  if (still !== undefined) throw still;
}

/**
 * Makes `dir`, or finds it made (also by another run starting at the same moment); returns the
 * ENOENT error when its parent is missing, and throws any other failure.
 */
function makeDir(dir: string): NodeJS.ErrnoException | undefined {
  try {
    mkdirSync(dir, { mode: 0o755 });
    return undefined;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException;
    if (failure.code === 'ENOENT') return failure;
    if (failure.code !== 'EEXIST') throw error;
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
    return undefined;
  }
}

function acquireLockFile(path: string): Lock {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      // link(2) publishes the lock with its pid already written: no reader sees an empty lock.
      const temp = `${path}.${process.pid}.tmp`;
      // one left by a crashed run whose pid this is now; created anew, never written through a link
      rmSync(temp, { force: true });
      const fd = openSync(temp, 'wx', 0o644);
      try {
        try {
          writeSync(fd, lockText());
        } finally {
          closeSync(fd);
        }
        linkSync(temp, path);
      } finally {
        // also when the write failed (a full file system): no empty temporary lock is left
        rmSync(temp, { force: true });
      }
      return {
        path,
        release: () => {
          // Only remove the lock if it is still ours.
          const text = readText(path);
          if (text === undefined || parseOwner(text)?.pid !== process.pid) return undefined;
          try {
            unlinkSync(path);
            return undefined;
          } catch (error) {
            // (a file system gone read-only) the next run takes a lock whose process has ended as stale
            return `could not remove the lock file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); the next run takes it as stale`;
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new LockError('LOCK_UNAVAILABLE', `cannot create lock file ${path}: ${(error as Error).message}`);
      }
    }
    // a directory (or anything but a file) there is no lock of ours to judge or move aside
    if (!isRegularFile(path)) throw new LockError('LOCK_UNAVAILABLE', `cannot create lock file ${path}: something other than a file is there; remove it, or set LOCK_FILE elsewhere`);
    const text = readText(path);
    const owner = text === undefined ? undefined : parseOwner(text);
    if (owner !== undefined && isAlive(owner)) {
      throw new LockError(
        'LOCK_HELD',
        `another dom0-update is running (pid ${owner.pid}, lock file ${path}); wait for it to finish, or remove the lock file if no dom0-update is running`,
      );
    }
    breakStale(path, text);
  }
  throw new LockError('LOCK_HELD', `could not take the lock file ${path}; another dom0-update may be starting`);
}

/**
 * Moves a stale lock aside under a name of our own. If what moved is not the lock judged stale
 * (another run broke it and took the lock meanwhile), it is linked back, so that run keeps it.
 */
export function breakStale(path: string, judged: string | undefined): void {
  const aside = `${path}.stale.${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else cleared it first; retry the exclusive create
  }
  const moved = readText(aside);
  try {
    if (moved !== judged) linkSync(aside, path);
  } catch {
    // a third run took the path: the exclusive create decides between us
  } finally {
    unlinkSync(aside);
  }
}

/** A regular file at `path`, or nothing there any more (a run that just released it). */
function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return true;
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function parseOwner(text: string): { pid: number; start: string | undefined } | undefined {
  const match = LOCK_TEXT.exec(text);
  return match?.[1] === undefined ? undefined : { pid: Number(match[1]), start: match[2] };
}

/** Alive, and the same process that wrote the lock when its start time was recorded. */
function isAlive(owner: { pid: number; start: string | undefined }): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = procStat(owner.pid);
  // a zombie (killed, not yet reaped by its parent) has ended: it holds nothing, its mutex is free
  // (a Node process ends all its threads together, so no thread of it can live on)
  if (now?.state === 'Z' || now?.state === 'X') return false;
  if (owner.start === undefined) return true;
  return now?.start === undefined || now.start === owner.start;
}
