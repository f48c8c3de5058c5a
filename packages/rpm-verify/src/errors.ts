import { sanitizeText } from './sanitize.ts';

/** Stable codes: callers and result records match on these, so never rename one. */
export type RpmErrorCode =
  | 'RPM_BAD_LEAD'
  | 'RPM_LEAD_NAME_MISMATCH'
  | 'RPM_HEADER_MAGIC'
  | 'RPM_HEADER_BOUNDS'
  | 'RPM_HEADER_NOT_CANONICAL'
  | 'RPM_HEADER_TYPE_BAD'
  | 'RPM_REGION_BAD'
  | 'RPM_SIG_PADDING'
  | 'RPM_SIG_TAG_NOT_ALLOWED'
  | 'RPM_SIG_TAG_BAD'
  | 'RPM_SIG_MULTIPLE'
  | 'RPM_RESERVED_SPACE_NOT_ZERO'
  | 'RPM_RESERVED_SPACE_TOO_LARGE'
  | 'RPM_SIG_IN_MAIN_HEADER'
  | 'RPM_MAIN_TAG_NOT_ALLOWED'
  | 'RPM_NOT_BINARY'
  | 'RPM_NEVRA_BAD'
  | 'RPM_UNSIGNED'
  | 'RPM_SIG_BLOB_BAD'
  | 'RPM_SIG_ALGO_MISMATCH'
  | 'RPM_WEAK_HASH'
  | 'RPM_WEAK_KEY'
  | 'RPM_KEY_NOT_TRUSTED'
  | 'RPM_KEY_EXPIRED'
  | 'RPM_KEY_REVOKED'
  | 'RPM_KEY_INVALID'
  | 'RPM_SIG_TIME'
  | 'RPM_SIG_BAD'
  | 'RPM_DIGEST_MISMATCH'
  | 'RPM_HEADER_DIGEST_MISSING'
  | 'RPM_SIZE_MISMATCH'
  | 'RPM_PAYLOAD_DIGEST_MISSING'
  | 'RPM_PAYLOAD_DIGEST_ALGO'
  | 'RPM_PAYLOAD_MISMATCH'
  | 'RPM_PAYLOAD_FORMAT'
  | 'RPM_FILE_LIST_BAD'
  | 'RPM_PAYLOAD_SIZE_MISMATCH'
  | 'RPM_TRAILING_DATA'
  | 'RPM_TRUNCATED'
  | 'RPM_TOO_LARGE'
  | 'RPM_STATE'
  | 'RPM_IO'
  | 'KEYRING_UNREADABLE'
  | 'KEYRING_EMPTY'
  | 'KEYRING_PARSE'
  | 'KEYRING_NOT_PUBLIC'
  | 'KEYRING_WEAK_KEY'
  | 'KEYRING_UNSUPPORTED_ALGORITHM'
  | 'KEYRING_UNSUPPORTED'
  | 'KEYRING_DUPLICATE';

export class RpmVerifyError extends Error {
  readonly code: RpmErrorCode;
  readonly member?: string;
  /** The reason alone, sanitised: for a caller that shows the member and the code itself. */
  readonly reason: string;

  /** `member` and `reason` may carry untrusted text; both are sanitised here, once. */
  constructor(code: RpmErrorCode, reason: string, member?: string) {
    const safeMember = member === undefined ? undefined : sanitizeText(member);
    const safeReason = sanitizeText(reason, 1024);
    super(safeMember === undefined ? `${code}: ${safeReason}` : `${safeMember}: ${code}: ${safeReason}`);
    this.name = 'RpmVerifyError';
    this.code = code;
    this.reason = safeReason;
    if (safeMember !== undefined) this.member = safeMember;
  }
}
