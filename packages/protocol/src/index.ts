export { PROTOCOL_VERSION, SERVICE_NAME, SERVICE_ARGUMENT, SERVICE_CALL, type ProtocolVersion } from './version.ts';
export {
  sanitizeForTerminal,
  sanitizeBytesForTerminal,
  sanitizeAsciiBytesForTerminal,
  DEFAULT_SANITIZE_MAX_LENGTH,
} from './sanitize.ts';
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
  foldCase,
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
export {
  REQUEST_ACTIONS,
  ACTIONS_NEEDING_PACKAGES,
  MAX_REQUEST_BYTES,
  MAX_REQUEST_PACKAGES,
  MAX_REQUEST_REPOS,
  MAX_REQUEST_OPTIONS,
  PACKAGE_SPEC_PATTERN,
  REPO_ID_PATTERN,
  DNF_OPTION_RULES,
  DNF_SETOPT_KEYS,
  validateRequest,
  parseRequest,
  encodeRequest,
  type RequestAction,
  type UpdateRequest,
} from './request.ts';
export {
  MAX_REPLY_BYTES,
  MAX_REPLY_PACKAGES,
  MAX_REPLY_MESSAGE_LENGTH,
  MAX_REPLY_MEMBER_LENGTH,
  NEVRA_PATTERN,
  SHA256_PATTERN,
  FINGERPRINT_PATTERN,
  ERROR_CODE_PATTERN,
  formatNevra,
  validateReply,
  encodeReply,
  parseReply,
  type Reply,
  type AcceptedReply,
  type RejectedReply,
  type ReplyPackage,
  type ReplyErrorDetail,
} from './reply.ts';
export {
  DEFAULT_STATE_SYNC_LIMITS,
  decodeStateSync,
  encodeStateSync,
  type StateEntry,
  type StateRequestEntry,
  type StateFileEntry,
} from './state-sync.ts';
export { checkServiceArgument } from './service.ts';
export { afterDelay } from './timer.ts';
