import { ExitCode } from './exit-code.ts';

/**
 * Every failure the agent reports. `code` is stable (tests and GUIs match on it); the message is
 * already safe to print: anything taken from dnf, a mirror or dom0 is sanitised before it gets here.
 */
export class AgentError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, exitCode: ExitCode = ExitCode.failure) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad command line, request or pass-through option: exit 2. */
export class UsageError extends AgentError {
  constructor(code: string, message: string) {
    super(code, message, ExitCode.usage);
  }
}

/** dom0's state-sync stream could not be taken in or laid out. */
export class StateError extends AgentError {}

/** The working directory, or a directory or file in it, cannot be created or written. */
export class WorkdirError extends AgentError {
  constructor(message: string) {
    super('WORKDIR_UNUSABLE', message);
  }
}

/** dnf could not be run, or it failed (missing, repository unreachable, resolution failed). */
export class DnfError extends AgentError {}

/** No space left while writing the state, the packages or the stream. */
export class DiskFullError extends AgentError {
  constructor(message: string) {
    super('DISK_FULL', message);
  }
}

/** The update stream could not be delivered to dom0 (exit 125), or the call was denied (126). */
export class TransportError extends AgentError {
  constructor(code: string, message: string, exitCode: ExitCode = ExitCode.transportFailure) {
    super(code, message, exitCode);
  }
}

/**
 * The run was stopped: a signal (exit 128 + its number), or dom0 went away. dnf was stopped and
 * this run's download directory removed.
 */
export class InterruptedError extends AgentError {}

/**
 * dom0 received the stream and refused it; the message names the member and the reason. dom0's
 * code is `code` alone: the error line ends with it in brackets, so the message does not repeat it.
 */
export class RejectedError extends AgentError {
  readonly member: string | undefined;
  readonly reason: string;

  constructor(code: string, member: string | undefined, reason: string) {
    super(code, member === undefined ? `dom0 rejected the update batch: ${reason}` : `dom0 rejected package ${member} because ${reason}`);
    this.member = member;
    this.reason = reason;
  }
}

/** True for Node's "no space left on device" errors, wherever they were raised. */
export function isNoSpace(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOSPC';
}
