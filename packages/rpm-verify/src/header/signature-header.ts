import { RpmVerifyError } from '../errors.ts';
import type { ParsedHeader } from './structure.ts';
import { readBin, readString, readUint32, readUint64, type EntryReader } from './values.ts';

export const SigTag = {
  DSAHEADER: 267,
  RSAHEADER: 268,
  SHA1HEADER: 269,
  LONGSIZE: 270,
  LONGARCHIVESIZE: 271,
  SHA256HEADER: 273,
  SIZE: 1000,
  PGP: 1002,
  MD5: 1004,
  GPG: 1005,
  PAYLOADSIZE: 1007,
  RESERVEDSPACE: 1008,
} as const;

/** Everything rpm 4.18 writes (with and without --rpmv3) and nothing else. */
const ALLOWED = new Set<number>(Object.values(SigTag));
/** An OpenPGP signature over RSA-16384 stays well under this. */
const MAX_SIGNATURE_BLOB = 4096;
/**
 * rpm reserves %__gpg_reserved_space (4096) and rpmsign shrinks it by what the signatures take;
 * sixteen times that leaves room for a packager's larger setting without letting a sender pad a
 * small package by megabytes of unsigned zeros.
 */
const MAX_RESERVED_SPACE = 65536;

export type HeaderSignatureTag = typeof SigTag.DSAHEADER | typeof SigTag.RSAHEADER;
export type LegacySignatureTag = typeof SigTag.PGP | typeof SigTag.GPG;

export interface SignatureBlob<T extends number> {
  readonly tag: T;
  readonly blob: Uint8Array;
}

export interface SignatureHeader {
  /** header-only signature over the main header's bytes; absence is checked by the verifier */
  readonly headerSignature: SignatureBlob<HeaderSignatureTag> | undefined;
  /** legacy (v3-style) signature over main header + payload */
  readonly legacySignature: SignatureBlob<LegacySignatureTag> | undefined;
  readonly sha256Header: string | undefined;
  readonly sha1Header: string | undefined;
  readonly md5: Uint8Array | undefined;
  /** main header + payload, in bytes */
  readonly size: number;
  /** uncompressed payload size (PAYLOADSIZE or LONGARCHIVESIZE); the verifier holds it to the signed file list */
  readonly payloadSize: number;
  /** the sizes are the 64-bit pair (LONGSIZE, LONGARCHIVESIZE), which rpm writes only when one needs it */
  readonly longSizes: boolean;
}

export function parseSignatureHeader(header: ParsedHeader, member: string | undefined): SignatureHeader {
  const r: EntryReader = { code: 'RPM_SIG_TAG_BAD', where: 'signature header', member };
  for (const tag of header.entries.keys()) {
    if (!ALLOWED.has(tag)) {
      throw new RpmVerifyError('RPM_SIG_TAG_NOT_ALLOWED', `signature header: tag ${tag} is not allowed`, member);
    }
  }
  const get = (tag: number) => header.entries.get(tag);
  const blob = <T extends number>(tag: T): SignatureBlob<T> | undefined => {
    const e = get(tag);
    if (e === undefined) return undefined;
    const bytes = readBin(e, undefined, r);
    if (bytes.length > MAX_SIGNATURE_BLOB) {
      throw new RpmVerifyError('RPM_SIG_TAG_BAD', `signature header: tag ${tag} is ${bytes.length} bytes, too large for a signature`, member);
    }
    return { tag, blob: bytes };
  };
  const hex = (tag: number, length: number): string | undefined => {
    const e = get(tag);
    if (e === undefined) return undefined;
    const value = readString(e, length, r);
    if (value.length !== length || !/^[0-9a-f]+$/.test(value)) {
      throw new RpmVerifyError('RPM_SIG_TAG_BAD', `signature header: tag ${tag} is not ${length} lowercase hex digits`, member);
    }
    return value;
  };

  const dsa = blob(SigTag.DSAHEADER);
  const rsa = blob(SigTag.RSAHEADER);
  if (dsa !== undefined && rsa !== undefined) {
    throw new RpmVerifyError('RPM_SIG_MULTIPLE', 'signature header: both RSAHEADER and DSAHEADER are present', member);
  }
  const pgp = blob(SigTag.PGP);
  const gpg = blob(SigTag.GPG);
  if (pgp !== undefined && gpg !== undefined) {
    throw new RpmVerifyError('RPM_SIG_MULTIPLE', 'signature header: both legacy PGP and GPG signatures are present', member);
  }

  const sizeEntry = get(SigTag.SIZE);
  const longSizeEntry = get(SigTag.LONGSIZE);
  if ((sizeEntry === undefined) === (longSizeEntry === undefined)) {
    throw new RpmVerifyError('RPM_SIG_TAG_BAD', 'signature header: needs exactly one of SIZE (1000) and LONGSIZE (270)', member);
  }
  const size = sizeEntry !== undefined ? readUint32(sizeEntry, r) : longSizeEntry !== undefined ? readUint64(longSizeEntry, r) : 0;

  // rpm writes SIZE with PAYLOADSIZE, or LONGSIZE with LONGARCHIVESIZE; never one of a pair alone
  const payloadSizeEntry = get(SigTag.PAYLOADSIZE);
  const longPayloadEntry = get(SigTag.LONGARCHIVESIZE);
  const longSizes = longSizeEntry !== undefined;
  if ((longSizes ? longPayloadEntry : payloadSizeEntry) === undefined || (longSizes ? payloadSizeEntry : longPayloadEntry) !== undefined) {
    throw new RpmVerifyError(
      'RPM_SIG_TAG_BAD',
      `signature header: ${longSizes ? 'LONGSIZE (270) needs LONGARCHIVESIZE (271)' : 'SIZE (1000) needs PAYLOADSIZE (1007)'}, and only that payload size`,
      member,
    );
  }
  const payloadSize = longPayloadEntry !== undefined ? readUint64(longPayloadEntry, r) : payloadSizeEntry !== undefined ? readUint32(payloadSizeEntry, r) : 0;

  const md5Entry = get(SigTag.MD5);
  const md5 = md5Entry === undefined ? undefined : readBin(md5Entry, 16, r);

  const reserved = get(SigTag.RESERVEDSPACE);
  if (reserved !== undefined) {
    const bytes = readBin(reserved, undefined, r);
    if (bytes.length > MAX_RESERVED_SPACE) {
      throw new RpmVerifyError(
        'RPM_RESERVED_SPACE_TOO_LARGE',
        `signature header: RESERVEDSPACE (1008) is ${bytes.length} bytes; at most ${MAX_RESERVED_SPACE} are accepted (rpm reserves 4096)`,
        member,
      );
    }
    // rpm reserves this space to grow signatures in place; anything but zeros is smuggled data
    if (bytes.some((b) => b !== 0)) {
      throw new RpmVerifyError('RPM_RESERVED_SPACE_NOT_ZERO', 'signature header: RESERVEDSPACE (1008) is not zero-filled', member);
    }
  }

  const sha256Header = hex(SigTag.SHA256HEADER, 64);
  const sha1Header = hex(SigTag.SHA1HEADER, 40);
  // rpm refuses a package with none of the three ("no digest"): publishing one would lock the
  // genuine package of the same NEVRA out of the append-only repository with one dnf cannot install
  if (sha256Header === undefined && sha1Header === undefined && md5 === undefined) {
    throw new RpmVerifyError(
      'RPM_HEADER_DIGEST_MISSING',
      'signature header: none of SHA256HEADER (273), SHA1HEADER (269) and MD5 (1004) is present; rpm refuses a package without a digest',
      member,
    );
  }

  return {
    headerSignature: dsa ?? rsa,
    legacySignature: pgp ?? gpg,
    sha256Header,
    sha1Header,
    md5,
    size,
    payloadSize,
    longSizes,
  };
}
