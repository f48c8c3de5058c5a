import { mkdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { type AgentError, DiskFullError, WorkdirError } from '../errors.ts';
import { sanitize } from '../text.ts';

/** A failed file-system call as Node reports it: the errno's name, the call and its path. */
interface FsFailure {
  readonly code: string;
  readonly errno: number | undefined;
  readonly syscall: string;
  readonly path: string;
}

function fsFailureOf(error: unknown): FsFailure | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, errno, syscall, path } = error as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof syscall !== 'string' || typeof path !== 'string') return undefined;
  return { code, errno, syscall, path };
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** `mkdir /w/home: read-only file system (EROFS)`: the call, the path, the cause in words and by name. */
function describeFailure(failure: FsFailure): string {
  const words = failure.errno === undefined ? undefined : getSystemErrorMap().get(failure.errno)?.[1];
  return `${failure.syscall} ${sanitize(failure.path)}: ${words === undefined ? '' : `${words} `}(${failure.code})`;
}

function workdirError(failure: FsFailure, workdir: string): AgentError {
  if (failure.code === 'ENOSPC') return new DiskFullError(`disk full under ${sanitize(workdir)}: ${describeFailure(failure)}`);
  return new WorkdirError(`the working directory ${sanitize(workdir)} cannot be used: ${describeFailure(failure)}`);
}

/**
 * A failed file-system call on a path inside the working directory means the working directory
 * cannot be used (a file in its path, a read-only file system, no permission), not a bug; any
 * other error is returned unchanged.
 */
export function asWorkdirError(error: unknown, workdir: string): unknown {
  const failure = fsFailureOf(error);
  return failure !== undefined && isInside(failure.path, workdir) ? workdirError(failure, workdir) : error;
}

/** Whether `path` exists; a failure other than ENOENT counts as existing (the mkdir below names it). */
async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error: unknown) => fsFailureOf(error)?.code !== 'ENOENT',
  );
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
}

/**
 * Creates `dir` and any missing parents one at a time (`mkdir -p`); returns the first failure, if any.
 * Node's recursive mkdir is not used: it reports ENOENT for a failure it does not expect (EROFS,
 * EDQUOT, ...), and where mkdir says ENOENT under an existing parent (/proc) it retries forever.
 */
async function makeEachMissing(dir: string, mode: number): Promise<FsFailure | undefined> {
  const target = resolve(dir);
  const missing = [target];
  for (let path = dirname(target); path !== dirname(path) && !(await exists(path)); path = dirname(path)) {
    missing.unshift(path);
  }
  for (const path of missing) {
    try {
      await mkdir(path, { mode });
    } catch (error) {
      const failure = fsFailureOf(error);
      if (failure === undefined) throw error;
      // a parent that is no directory fails its child's mkdir (ENOTDIR); `dir` itself is checked here
      if (failure.code !== 'EEXIST' || (path === target && !(await isDirectory(target)))) return failure;
    }
  }
  return undefined;
}

/**
 * Creates `dir`, a directory of the working directory, with any missing parents; a failure is the
 * working directory's, named by the errno of the mkdir that failed (the failing path may be an
 * ancestor of the working directory: still the working directory's failure).
 */
export async function makeWorkdirDir(workdir: string, dir: string, mode: number): Promise<void> {
  const failure = await makeEachMissing(dir, mode);
  if (failure !== undefined) throw workdirError(failure, workdir);
}
