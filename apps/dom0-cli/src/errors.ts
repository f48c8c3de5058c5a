/**
 * Every way dom0-update can fail, each with a stable `code` and the exit code it maps to.
 * Messages never carry untrusted text unsanitised: callers pass it through sanitizeForTerminal.
 */
import { sanitizeForTerminal } from '@dom0-updates/protocol';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  updatesAvailable: 100,
  transport: 125,
  policyDenied: 126,
  /** 128 + the signal number: SIGHUP, SIGINT, SIGTERM stopped the run (interrupt.ts). */
  hangup: 129,
  interrupted: 130,
  terminated: 143,
} as const;

/**
 * A value from the command line or the config file, quoted in an error message. It is dom0's own
 * text, but an error stays one printable line, escaped as everywhere else.
 */
export function printable(value: string): string {
  return sanitizeForTerminal(value, 200);
}

type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, exitCode: ExitCode = EXIT.failure) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad command line: exit 2. */
export class UsageError extends CliError {
  constructor(code: string, message: string) {
    super(code, message, EXIT.usage);
  }
}

/** Bad configuration file or environment value. */
export class ConfigError extends CliError {}

/** Another run holds the lock. */
export class LockError extends CliError {}

/** The transport to the UpdateVM failed (125) or the service call was denied (126). */
export class TransportError extends CliError {}

/** The UpdateVM side failed: download, check or sending. */
export class AgentError extends CliError {}

/** dom0's own receiver could not be started, or ended without recording a result. */
export class ReceiverError extends CliError {}

/** dom0's receiver rejected the batch. */
export class RejectedError extends CliError {}

/** Reading dom0's own state (rpmdb, repo definitions, keys, result record) failed. */
export class StateError extends CliError {}

/** dom0's dnf failed to install from the cached repository. */
export class InstallError extends CliError {}

/**
 * dom0's dnf failed where it could not ask (no -y, no terminal): most likely at its prompt, so
 * hints about what dom0 withheld from its resolution would point the wrong way.
 */
export class InstallUnansweredError extends InstallError {}

/** A signal (SIGINT, SIGTERM, SIGHUP) stopped the run: exit 128 + its number. */
export class InterruptedError extends CliError {}
