// The agent's API for tests and tooling; the shipped program is the bundle built from main.ts.
export { runCli, type CliStreams } from './cli/run-cli.ts';
export { parseArgs, parseReceiverCommand, type Command, type CommonOptions, type TransportSpec } from './cli/args.ts';
export { ExitCode } from './exit-code.ts';
export {
  AgentError,
  UsageError,
  StateError,
  DnfError,
  DiskFullError,
  TransportError,
  RejectedError,
} from './errors.ts';
export { ACTIONS, buildRequest, type Action, type DownloadRequest, type RequestFields } from './request.ts';
export { parseDnfOptions, type DnfOption } from './dnf/passthrough.ts';
export { rewriteRepoFile } from './installroot/repo-file.ts';
export { workdirLayout, DEFAULT_WORKDIR, type WorkdirLayout } from './installroot/paths.ts';
export type { ProgressEvent, DoneResult } from './progress/events.ts';
