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

/** Makes the missing directories down to `dir` one at a time; returns the first failure, if any. */
async function makeEachMissing(dir: string, mode: number): Promise<FsFailure | undefined> {
  const missing: string[] = [];
  for (let path = resolve(dir); !(await exists(path)); path = dirname(path)) {
    missing.unshift(path);
    if (dirname(path) === path) break;
  }
  for (const path of missing) {
    try {
      await mkdir(path, { mode });
    } catch (error) {
      const failure = fsFailureOf(error);
      if (failure === undefined) throw error;
      if (failure.code !== 'EEXIST') return failure;
    }
  }
  return undefined;
}

/**
 * Creates `dir`, a directory of the working directory, with any missing parents; a failure is the
 * working directory's, named by its true cause. Node's recursive mkdir reports ENOENT for a failure
 * it does not expect (EROFS, EDQUOT, ...) while `dir` is missing, so on ENOENT the directories are
 * made one at a time and the first that fails gives its own errno.
 */
export async function makeWorkdirDir(workdir: string, dir: string, mode: number): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode });
  } catch (error) {
    const failure = fsFailureOf(error);
    if (failure === undefined) throw error;
    // undefined: made one at a time after all (something else created a parent meanwhile)
    const cause = failure.code === 'ENOENT' ? await makeEachMissing(dir, mode) : failure;
    // the failing path may be an ancestor of the working directory: still the workdir's failure
    if (cause !== undefined) throw workdirError(cause, workdir);
  }
}
