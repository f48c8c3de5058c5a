/** The agent's exit codes (docs/ARCHITECTURE.md); 125/126 match Qubes' qrexec conventions. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  updatesAvailable: 100,
  transportFailure: 125,
  policyDenied: 126,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
