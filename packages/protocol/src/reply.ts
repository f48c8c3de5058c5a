import { ReplyError } from './errors.ts';
import { Checker, parseJsonLine } from './json/checker.ts';
import { MEMBER_NAME_PATTERN, USTAR_NAME_BYTES, foldCase, type MemberName } from './names.ts';
import { SANITIZED_TEXT_PATTERN, sanitizeForTerminal } from './sanitize.ts';
import { PROTOCOL_VERSION, type ProtocolVersion } from './version.ts';

/** One package dom0 verified and published. */
export interface ReplyPackage {
  readonly file: MemberName;
  /** `name-[epoch:]version-release.arch`, see `formatNevra`. */
  readonly nevra: string;
  /** Lowercase hex SHA-256 of the file's bytes. */
  readonly sha256: string;
  /** Lowercase hex fingerprint of the pinned primary key that signed it (40 or 64 digits). */
  readonly signer: string;
}

export interface ReplyErrorDetail {
  /** A stable error code, e.g. `TAR_LINK_MEMBER` or an rpm-verify code. */
  readonly code: string;
  /** The member the error is about, sanitised. */
  readonly member?: string;
  /** Human-readable reason, sanitised. */
  readonly message: string;
}

export interface AcceptedReply {
  readonly protocol: ProtocolVersion;
  readonly status: 'accepted';
  readonly packages: readonly ReplyPackage[];
}

export interface RejectedReply {
  readonly protocol: ProtocolVersion;
  readonly status: 'rejected';
  /** Always empty: a rejected batch publishes nothing. */
  readonly packages: readonly ReplyPackage[];
  readonly error: ReplyErrorDetail;
}

export type Reply = AcceptedReply | RejectedReply;

/** Room for 4096 packages with the longest allowed fields. */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;
export const MAX_REPLY_PACKAGES = 4096;
export const MAX_REPLY_MESSAGE_LENGTH = 4096;
export const MAX_REPLY_MEMBER_LENGTH = 300;

export const NEVRA_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._+^~:-]{0,511}$/;
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;
export const FINGERPRINT_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
export const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;
/** Text fields carry only what `sanitizeForTerminal` lets through. */
const SAFE_TEXT = SANITIZED_TEXT_PATTERN;

/** `name-version-release.arch`, with `epoch:` before the version when there is an epoch. */
export function formatNevra(nevra: {
  readonly name: string;
  readonly epoch?: number | string | null | undefined;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
}): string {
  const epoch = nevra.epoch === undefined || nevra.epoch === null || nevra.epoch === '' ? '' : `${String(nevra.epoch)}:`;
  return `${nevra.name}-${epoch}${nevra.version}-${nevra.release}.${nevra.arch}`;
}

function checkPackage(check: Checker, value: unknown, path: string): ReplyPackage | undefined {
  const record = check.object(value, path, ['file', 'nevra', 'sha256', 'signer']);
  if (record === undefined) return undefined;
  const before = check.count;
  const file = check.string(record['file'], `${path}.file`, MEMBER_NAME_PATTERN, USTAR_NAME_BYTES);
  const nevra = check.string(record['nevra'], `${path}.nevra`, NEVRA_PATTERN, 512);
  const sha256 = check.string(record['sha256'], `${path}.sha256`, SHA256_PATTERN, 64, '64 lowercase hex digits');
  const signer = check.string(record['signer'], `${path}.signer`, FINGERPRINT_PATTERN, 64, '40 or 64 lowercase hex digits');
  if (file === undefined || nevra === undefined || sha256 === undefined || signer === undefined) return undefined;
  return check.count === before ? { file: file as MemberName, nevra, sha256, signer } : undefined;
}

function checkError(check: Checker, value: unknown): ReplyErrorDetail | undefined {
  const record = check.object(value, 'reply.error', ['code', 'message'], ['member']);
  if (record === undefined) return undefined;
  const code = check.string(record['code'], 'reply.error.code', ERROR_CODE_PATTERN, 64);
  const message = check.string(record['message'], 'reply.error.message', SAFE_TEXT, MAX_REPLY_MESSAGE_LENGTH, 'sanitised text');
  const member =
    record['member'] === undefined
      ? undefined
      : check.string(record['member'], 'reply.error.member', SAFE_TEXT, MAX_REPLY_MEMBER_LENGTH, 'sanitised text');
  if (code === undefined || message === undefined) return undefined;
  if (record['member'] !== undefined && member === undefined) return undefined;
  return member === undefined ? { code, message } : { code, member, message };
}

/** Checks an untrusted value against the reply schema; collects every problem. */
export function validateReply(value: unknown): Reply {
  const check = new Checker();
  const record = check.object(value, 'reply', ['protocol', 'status', 'packages'], ['error']);
  if (record === undefined) throw new ReplyError('REPLY_INVALID', check.issues);
  const protocol = check.oneOf(record['protocol'], 'reply.protocol', [PROTOCOL_VERSION]);
  const status = check.oneOf(record['status'], 'reply.status', ['accepted', 'rejected'] as const);
  const packages = check.array(record['packages'], 'reply.packages', MAX_REPLY_PACKAGES, (v, p) => checkPackage(check, v, p));
  if (packages !== undefined) {
    // The same collision rule as the update stream: one member, one record.
    const files = new Map<string, number>();
    packages.forEach((pkg, i) => {
      const earlier = files.get(foldCase(pkg.file));
      if (earlier !== undefined) check.fail(`reply.packages[${i}].file`, `repeats reply.packages[${earlier}].file`);
      else files.set(foldCase(pkg.file), i);
    });
  }
  let error: ReplyErrorDetail | undefined;
  if (status === 'rejected') {
    if (record['error'] === undefined) check.fail('reply.error', 'is missing (status is "rejected")');
    else error = checkError(check, record['error']);
    if (packages !== undefined && packages.length > 0) check.fail('reply.packages', 'must be empty when status is "rejected"');
  } else if (status === 'accepted' && record['error'] !== undefined) {
    check.fail('reply.error', 'is not allowed when status is "accepted"');
  }
  if (protocol === undefined || status === undefined || packages === undefined || check.count > 0) {
    throw new ReplyError('REPLY_INVALID', check.issues);
  }
  if (status === 'accepted') return { protocol, status, packages };
  if (error === undefined) throw new ReplyError('REPLY_INVALID', check.issues);
  return { protocol, status, packages, error };
}

/**
 * Serialises dom0's reply as one JSON line ending in "\n". The error's member and message are
 * sanitised here, so the receiver may pass raw error text; everything else must already be valid.
 */
export function encodeReply(reply: Reply): Uint8Array {
  const normalised: Reply =
    reply.status === 'rejected'
      ? {
          protocol: reply.protocol,
          status: reply.status,
          packages: reply.packages,
          error: {
            code: reply.error.code,
            ...(reply.error.member === undefined
              ? {}
              : { member: sanitizeForTerminal(reply.error.member, MAX_REPLY_MEMBER_LENGTH) }),
            message: sanitizeForTerminal(reply.error.message, MAX_REPLY_MESSAGE_LENGTH),
          },
        }
      : { protocol: reply.protocol, status: reply.status, packages: reply.packages };
  const valid = validateReply(normalised);
  const bytes = new TextEncoder().encode(`${JSON.stringify(valid)}\n`);
  if (bytes.length > MAX_REPLY_BYTES) throw new ReplyError('REPLY_TOO_LARGE', [`reply: ${bytes.length} bytes`]);
  return bytes;
}

/** Parses dom0's reply: one UTF-8 JSON line of at most MAX_REPLY_BYTES, then the schema. */
export function parseReply(bytes: Uint8Array): Reply {
  const parsed = parseJsonLine(bytes, MAX_REPLY_BYTES);
  if ('problem' in parsed) {
    const code = parsed.problem === 'too-large' ? 'REPLY_TOO_LARGE' : parsed.problem === 'framing' ? 'REPLY_BAD_FRAMING' : 'REPLY_BAD_JSON';
    throw new ReplyError(code, [`reply: ${parsed.detail}`]);
  }
  return validateReply(parsed.value);
}
