/** The agent's exit codes (docs/ARCHITECTURE.md); 125/126 match Qubes' qrexec conventions. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  updatesAvailable: 100,
  transportFailure: 125,
  policyDenied: 126,
  /** 128 + the signal's number, as a shell reports a process that a signal ended. */
  hangup: 129,
  interrupted: 130,
  terminated: 143,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
