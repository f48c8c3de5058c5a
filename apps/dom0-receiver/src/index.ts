// The app is used through its command line (src/main.ts); these exports are for the app's own
// tooling and for callers that want the result-record types.
export { parseArgs, USAGE, type ParsedArgs, type ReceiveArgs, type VerifyArgs, type SandboxKind } from './cli/args.ts';
export { receiveCommand, type ReceiveContext } from './receive/receive-command.ts';
export { verifyCommand } from './verify/verify-command.ts';
export { RESULT_FORMAT, type ResultRecord, type AcceptedPackage, type Rejection } from './publish/result-record.ts';
export { ReceiverError, UsageError, RefusedError, ConfigError, StageError, PublishError, type ReceiverErrorCode } from './errors.ts';
export { PAUSE_POINTS, type PausePoint } from './test-hooks/pause.ts';
