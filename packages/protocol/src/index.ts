export { PROTOCOL_VERSION, SERVICE_NAME, SERVICE_ARGUMENT, SERVICE_CALL, type ProtocolVersion } from './version.ts';
export { sanitizeForTerminal, sanitizeBytesForTerminal, DEFAULT_SANITIZE_MAX_LENGTH } from './sanitize.ts';
export {
  STREAM_ERROR_CODES,
  ENCODE_ERROR_CODES,
  REPLY_ERROR_CODES,
  REQUEST_ERROR_CODES,
  VERSION_ERROR_CODES,
  ProtocolError,
  StreamError,
  EncodeError,
  DocumentError,
  ReplyError,
  RequestError,
  VersionError,
  type StreamErrorCode,
  type EncodeErrorCode,
  type ReplyErrorCode,
  type RequestErrorCode,
  type VersionErrorCode,
  type ProtocolErrorCode,
} from './errors.ts';
export {
  MEMBER_NAME_PATTERN,
  USTAR_NAME_BYTES,
  STATE_PATH_RULES,
  STATE_REQUEST_PATH,
  memberNameProblem,
  isMemberName,
  classifyStatePath,
  type MemberName,
  type StatePath,
  type StateKind,
} from './names.ts';
export { MAX_TRAILING_ZERO_BYTES, type DecodeLimits } from './tar/decoder.ts';
export { MAX_ENCODABLE_SIZE } from './tar/layout.ts';
export type {
  EncoderMember,
  FileSourceMember,
  BytesSourceMember,
  EncodeOptions,
  EncodeSummary,
} from './tar/encoder.ts';
export { decodeUpdateStream, encodeUpdateStream, DEFAULT_UPDATE_LIMITS, type DecodedMember } from './update-stream.ts';
