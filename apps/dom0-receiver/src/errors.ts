import { sanitizeForTerminal } from '@dom0-updates/protocol';

/**
 * Codes the receiver itself raises (the protocol and rpm-verify packages bring their own; STAGE_IO,
 * a local I/O failure while staging, is stage-error.ts's).
 */
export type ReceiverErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'KEYRING_UNREADABLE'
  | 'SENDER_NOT_ALLOWED'
  | 'UPDATEVM_NOT_CONFIGURED'
  | 'VERSION_UNSUPPORTED'
  | 'RECEIVER_BUSY'
  | 'STAGE_START_FAILED'
  | 'STAGE_FAILED'
  | 'STAGE_PROTOCOL'
  | 'STAGE_TIMEOUT'
  | 'STAGE_PROCESSES_REMAIN'
  | 'STAGED_FILES_MISMATCH'
  | 'RPM_FILE_NAME_MISMATCH'
  | 'RPM_CONFLICTS_PUBLISHED'
  | 'CREATEREPO_FAILED'
  | 'PUBLISH_FAILED'
  | 'RECEIVE_INTERRUPTED';

/** Root of the receiver's own errors: a stable `code` and an already sanitised message. */
export class ReceiverError extends Error {
  readonly code: ReceiverErrorCode;
  readonly member: string | undefined;

  constructor(code: ReceiverErrorCode, message: string, member?: string) {
    super(sanitizeForTerminal(message));
    this.name = new.target.name;
    this.code = code;
    this.member = member === undefined ? undefined : sanitizeForTerminal(member, 300);
  }
}

/** Bad command line or environment: exit 2, nothing read. */
export class UsageError extends ReceiverError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** The call was refused before a byte of the stream was read (sender, version argument). */
export class RefusedError extends ReceiverError {}

/** dom0's own configuration (keyrings, user, updates dir) is unusable. */
export class ConfigError extends ReceiverError {}

/** The decode-and-verify child failed in a way that is not a verdict on the input. */
export class StageError extends ReceiverError {}

/** A verified package the receiver still refuses to publish (its file name, a published conflict). */
export class PackageError extends ReceiverError {}

/** Building or switching the published repository failed; the old one stays published. */
export class PublishError extends ReceiverError {}

/** A signal stopped the receive before publication; nothing of the batch was published. */
export class InterruptedError extends ReceiverError {
  constructor(signal: NodeJS.Signals) {
    super('RECEIVE_INTERRUPTED', `interrupted by ${signal} before publication; nothing of this batch was published`);
  }
}
