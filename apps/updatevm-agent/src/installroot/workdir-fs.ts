import { getSystemErrorMap } from 'node:util';
import { isAbsolute, relative } from 'node:path';
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
