import { sanitizeForTerminal } from './sanitize.ts';

/** Every way the strict ustar decoders reject a stream; each code is documented in SPEC.md. */
export const STREAM_ERROR_CODES = [
  'TAR_BAD_CHECKSUM',
  'TAR_BAD_MAGIC',
  'TAR_BAD_HEADER',
  'TAR_BAD_NUMBER',
  'TAR_UNSUPPORTED_TYPE',
  'TAR_LINK_MEMBER',
  'TAR_BAD_NAME',
  'TAR_DUPLICATE_NAME',
  'TAR_BAD_PADDING',
  'TAR_TOO_MANY_MEMBERS',
  'TAR_MEMBER_TOO_LARGE',
  'TAR_TOO_MANY_BYTES',
  'TAR_TRUNCATED',
  'TAR_MISSING_END',
  'TAR_TRAILING_DATA',
  'TAR_TIMEOUT',
  'TAR_ABORTED',
  'TAR_SOURCE_ERROR',
  'TAR_BODY_NOT_CONSUMED',
  'STATE_MISSING_REQUEST',
  'STATE_BAD_REQUEST',
] as const;
export type StreamErrorCode = (typeof STREAM_ERROR_CODES)[number];

/**
 * Ways the encoders refuse their input (the sender's own mistakes, never the peer's), and
 * ENCODE_OUTPUT_CLOSED: the output (often the peer's pipe) went away.
 */
export const ENCODE_ERROR_CODES = [
  'ENCODE_BAD_NAME',
  'ENCODE_DUPLICATE_NAME',
  'ENCODE_TOO_LARGE',
  'ENCODE_NOT_A_FILE',
  'ENCODE_SIZE_CHANGED',
  'ENCODE_OUTPUT_CLOSED',
  'ENCODE_BAD_REQUEST',
] as const;
export type EncodeErrorCode = (typeof ENCODE_ERROR_CODES)[number];

export const REPLY_ERROR_CODES = ['REPLY_TOO_LARGE', 'REPLY_BAD_FRAMING', 'REPLY_BAD_JSON', 'REPLY_INVALID'] as const;
export type ReplyErrorCode = (typeof REPLY_ERROR_CODES)[number];

export const REQUEST_ERROR_CODES = ['REQUEST_TOO_LARGE', 'REQUEST_BAD_JSON', 'REQUEST_INVALID'] as const;
export type RequestErrorCode = (typeof REQUEST_ERROR_CODES)[number];

export const VERSION_ERROR_CODES = ['VERSION_UNSUPPORTED'] as const;
export type VersionErrorCode = (typeof VERSION_ERROR_CODES)[number];

export type ProtocolErrorCode =
  | StreamErrorCode
  | EncodeErrorCode
  | ReplyErrorCode
  | RequestErrorCode
  | VersionErrorCode;

/** Root of the package's errors; `code` is stable and safe to match on. Messages are sanitised. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(sanitizeForTerminal(message), options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A stream (update stream or state-sync stream) was rejected. */
export class StreamError extends ProtocolError {
  declare readonly code: StreamErrorCode;
  /** The offending member's name, sanitised, when the header got far enough to have one. */
  readonly member: string | undefined;

  constructor(code: StreamErrorCode, reason: string, member?: string, options?: ErrorOptions) {
    // an empty name field names no member: the reason says the name is empty
    const shown = member === undefined || member === '' ? undefined : sanitizeForTerminal(member, 300);
    super(code, shown === undefined ? reason : `member ${shown}: ${reason}`, options);
    this.member = shown;
  }
}

/** The encoder refused its input. */
export class EncodeError extends ProtocolError {
  declare readonly code: EncodeErrorCode;
  readonly member: string | undefined;

  constructor(code: EncodeErrorCode, reason: string, member?: string, options?: ErrorOptions) {
    const shown = member === undefined ? undefined : sanitizeForTerminal(member, 300);
    super(code, shown === undefined ? reason : `${shown}: ${reason}`, options);
    this.member = shown;
  }
}

/** A JSON document (reply or request) failed validation; `issues` lists every bad field. */
export class DocumentError extends ProtocolError {
  declare readonly code: ReplyErrorCode | RequestErrorCode;
  readonly issues: readonly string[];

  constructor(code: ReplyErrorCode | RequestErrorCode, what: string, issues: readonly string[]) {
    const clean = issues.map((issue) => sanitizeForTerminal(issue, 500));
    super(code, `${what}: ${clean.join('; ')}`);
    this.issues = clean;
  }
}

export class ReplyError extends DocumentError {
  declare readonly code: ReplyErrorCode;

  constructor(code: ReplyErrorCode, issues: readonly string[]) {
    super(code, 'invalid reply', issues);
  }
}

export class RequestError extends DocumentError {
  declare readonly code: RequestErrorCode;

  constructor(code: RequestErrorCode, issues: readonly string[]) {
    super(code, 'invalid request', issues);
  }
}

/** The peer speaks a protocol version this build does not. */
export class VersionError extends ProtocolError {
  declare readonly code: VersionErrorCode;

  constructor(reason: string) {
    super('VERSION_UNSUPPORTED', reason);
  }
}
