import { RpmVerifyError } from '../errors.ts';

const PACKET_TAG_SIGNATURE = 2;
const SIG_TYPE_BINARY = 0x00;

/**
 * OpenPGP public-key algorithm ids we accept (parseSignatureBlob checks the tag each belongs in). Not RSA
 * sign-only (3): rpm 4.18 reads no signature made with it (pgpSignatureNew knows 1, 17 and 22).
 */
export const PublicKeyAlgo = { RSA: 1, EDDSA_LEGACY: 22 } as const;
/** OpenPGP hash ids we accept: SHA-256/384/512. MD5 (1), SHA-1 (2), RIPEMD (3), SHA-224 (11) are weak. */
export const HashAlgo = { SHA256: 8, SHA384: 9, SHA512: 10 } as const;
export type HashName = 'sha256' | 'sha384' | 'sha512';
const HASH_NAMES: Readonly<Record<number, HashName>> = { 8: 'sha256', 9: 'sha384', 10: 'sha512' };
const ALGO_NAMES: Readonly<Record<number, string>> = { 1: 'RSA', 22: 'EdDSA' };

/** Signature subpacket types (RFC 9580, 5.2.3.7) that this module reads. */
const Subpacket = { CREATED: 2, EXPIRES: 3, ISSUER_KEY_ID: 16, EMBEDDED_SIGNATURE: 32, ISSUER_FINGERPRINT: 33 } as const;
/**
 * Subpackets that may be marked critical: the ones rpm 4.18 accepts as critical. It refuses any
 * other critical subpacket (a critical expiry or issuer fingerprint too), and a package we accept
 * must be one rpm accepts.
 */
const CRITICAL_UNDERSTOOD = new Set<number>([Subpacket.CREATED, Subpacket.ISSUER_KEY_ID]);

/**
 * The hashed subpackets a signature over data may carry (RFC 9580 5.2.3.7): the ones above, and
 * notations (20), preferred key server (24), policy URI (26), signer's user ID (28) and key block
 * (38: the signer's key, which gpg writes with `--include-key-block`; never read, only pinned keys
 * count), which gpg writes when told to. Everything else belongs to keys and certifications (key
 * flags, preferences, revocation keys and reasons...) or is unknown: in a package signature it is
 * either a mistake or a way to make OpenPGP.js refuse for a reason that is not the signature's.
 */
const HASHED_ALLOWED = new Set<number>([Subpacket.CREATED, Subpacket.EXPIRES, Subpacket.ISSUER_KEY_ID, 20, 24, 26, 28, Subpacket.ISSUER_FINGERPRINT, 38]);

export interface SignatureIssuer {
  /** v4 fingerprint from the hashed area, lowercase hex, when the signer put one there */
  readonly fingerprint: string | undefined;
  /** 16 lowercase hex digits; never the all-zero wildcard */
  readonly keyId: string;
}

/**
 * The parts of a v4 signature packet we need for checks and for verifying a precomputed digest.
 * Parsed by hand so that the framing is exact and canonical: one packet with a minimal length
 * header, no trailing bytes, minimal MPIs, and an unhashed area that is empty or holds exactly the
 * issuer key ID gpg puts there. Anything else would be unsigned room inside the blob in which the
 * same signature can be re-encoded or data smuggled.
 */
export interface SignatureBlobInfo {
  readonly publicKeyAlgorithm: number;
  readonly algorithmName: string;
  readonly hashAlgorithm: number;
  readonly hashName: HashName;
  /** version .. end of hashed subpackets: the part the v4 trailer hashes */
  readonly hashedPart: Uint8Array;
  readonly left16: Uint8Array;
  /** signature MPIs, without their bit-length prefixes: [s] for RSA, [r, s] for EdDSA */
  readonly mpis: readonly Uint8Array[];
  /** the hashed creation time */
  readonly created: Date;
  /** hashed signature expiration, seconds after `created`; undefined or 0: never */
  readonly expiresAfterSeconds: number | undefined;
  readonly issuer: SignatureIssuer;
}

interface RawSubpacket {
  readonly type: number;
  readonly critical: boolean;
  readonly body: Uint8Array;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function parseSignatureBlob(blob: Uint8Array, tag: number, member: string | undefined): SignatureBlobInfo {
  const bad = (reason: string): never => {
    throw new RpmVerifyError('RPM_SIG_BLOB_BAD', `signature tag ${tag}: ${reason}`, member);
  };
  const { bodyStart, bodyLength } = readPacketHeader(blob, bad);
  if (bodyStart + bodyLength !== blob.length) {
    bad(bodyStart + bodyLength < blob.length ? 'trailing bytes after the signature packet' : 'signature packet truncated');
  }
  const body = blob.subarray(bodyStart);
  if (body.length < 6) bad('signature packet truncated');
  const version = body[0] ?? 0;
  if (version !== 4) bad(`signature packet version ${version} (only v4 is accepted)`);
  if (body[1] !== SIG_TYPE_BINARY) bad(`signature type 0x${(body[1] ?? 0).toString(16)} is not binary (0x00)`);
  const publicKeyAlgorithm = body[2] ?? 0;
  const hashAlgorithm = body[3] ?? 0;
  const algorithmName = ALGO_NAMES[publicKeyAlgorithm];
  if (algorithmName === undefined) {
    throw new RpmVerifyError(
      'RPM_WEAK_KEY',
      `signature tag ${tag}: public-key algorithm ${publicKeyAlgorithm} is not one this verifier accepts (RSA (1) or EdDSA (22))`,
      member,
    );
  }
  const isRsa = publicKeyAlgorithm === PublicKeyAlgo.RSA;
  if ((tag === 268 || tag === 1002) !== isRsa) {
    throw new RpmVerifyError('RPM_SIG_ALGO_MISMATCH', `signature tag ${tag} holds a ${algorithmName} signature (RSA belongs in 268/1002, others in 267/1005)`, member);
  }
  const hashName = HASH_NAMES[hashAlgorithm];
  if (hashName === undefined) {
    throw new RpmVerifyError('RPM_WEAK_HASH', `signature tag ${tag}: hash algorithm ${hashAlgorithm} is not SHA-256/384/512`, member);
  }
  const hashedLength = ((body[4] ?? 0) << 8) | (body[5] ?? 0);
  const hashedEnd = 6 + hashedLength;
  if (hashedEnd + 2 > body.length) bad('hashed subpackets overrun the packet');
  const unhashedLength = ((body[hashedEnd] ?? 0) << 8) | (body[hashedEnd + 1] ?? 0);
  const unhashedEnd = hashedEnd + 2 + unhashedLength;
  if (unhashedEnd + 2 > body.length) bad('unhashed subpackets overrun the packet');

  const hashed = readSubpackets(body.subarray(6, hashedEnd), bad);
  const { created, expiresAfterSeconds, issuer: hashedIssuer } = readHashed(hashed, bad);
  const unhashedKeyId = readUnhashed(body.subarray(hashedEnd + 2, unhashedEnd), bad);
  const issuer = combineIssuer(hashedIssuer, unhashedKeyId, bad);

  const left16 = body.subarray(unhashedEnd, unhashedEnd + 2);
  const mpiCount = isRsa ? 1 : 2;
  const mpis: Uint8Array[] = [];
  let p = unhashedEnd + 2;
  for (let i = 0; i < mpiCount; i++) {
    if (p + 2 > body.length) bad('signature value truncated');
    const bits = ((body[p] ?? 0) << 8) | (body[p + 1] ?? 0);
    const bytes = Math.ceil(bits / 8);
    if (bits === 0 || p + 2 + bytes > body.length) bad('signature value truncated');
    const value = body.subarray(p + 2, p + 2 + bytes);
    // the bit count must be the value's exact length: otherwise one signature has many encodings
    const top = value[0] ?? 0;
    if (top === 0 || (bytes - 1) * 8 + (32 - Math.clz32(top)) !== bits) bad(`signature MPI ${i + 1} of ${mpiCount} is not minimal: its bit count ${bits} is not the length of its value`);
    mpis.push(value);
    p += 2 + bytes;
  }
  if (p !== body.length) bad('trailing bytes inside the signature packet');
  return { publicKeyAlgorithm, algorithmName, hashAlgorithm, hashName, hashedPart: body.subarray(0, hashedEnd), left16, mpis, created, expiresAfterSeconds, issuer };
}

/** Old or new packet format, signature tag, and the shortest length encoding for the body. */
function readPacketHeader(blob: Uint8Array, bad: (reason: string) => never): { bodyStart: number; bodyLength: number } {
  const at = (i: number): number => {
    const v = blob[i];
    return v === undefined ? bad('packet header truncated') : v;
  };
  const first = at(0);
  if ((first & 0x80) === 0) bad('not an OpenPGP packet');
  let bodyStart: number;
  let bodyLength: number;
  let minimal: boolean;
  if ((first & 0x40) === 0) {
    // old format: tag in bits 5..2, length type in bits 1..0
    if (((first >> 2) & 0x0f) !== PACKET_TAG_SIGNATURE) bad('packet is not a signature packet');
    const lengthType = first & 0x03;
    if (lengthType === 0) {
      bodyLength = at(1);
      bodyStart = 2;
      minimal = true;
    } else if (lengthType === 1) {
      bodyLength = (at(1) << 8) | at(2);
      bodyStart = 3;
      minimal = bodyLength > 0xff;
    } else if (lengthType === 2) {
      bodyLength = ((at(1) << 24) >>> 0) + ((at(2) << 16) | (at(3) << 8) | at(4));
      bodyStart = 5;
      minimal = bodyLength > 0xffff;
    } else {
      return bad('indeterminate packet length');
    }
  } else {
    if ((first & 0x3f) !== PACKET_TAG_SIGNATURE) bad('packet is not a signature packet');
    const l0 = at(1);
    if (l0 < 192) {
      bodyLength = l0;
      bodyStart = 2;
      minimal = true;
    } else if (l0 < 224) {
      bodyLength = ((l0 - 192) << 8) + at(2) + 192;
      bodyStart = 3;
      minimal = true;
    } else if (l0 === 255) {
      bodyLength = ((at(2) << 24) >>> 0) + ((at(3) << 16) | (at(4) << 8) | at(5));
      bodyStart = 6;
      minimal = bodyLength >= 8384;
    } else {
      return bad('partial body lengths are not allowed in a signature');
    }
  }
  if (!minimal) bad(`packet length ${bodyLength} is not in its shortest encoding`);
  return { bodyStart, bodyLength };
}

/** Splits a subpacket area exactly; a length that runs past the area is an error, not a stop. */
function readSubpackets(area: Uint8Array, bad: (reason: string) => never): RawSubpacket[] {
  const out: RawSubpacket[] = [];
  let p = 0;
  while (p < area.length) {
    const l0 = area[p] ?? 0;
    let length: number;
    if (l0 < 192) {
      length = l0;
      p += 1;
    } else if (l0 < 255) {
      if (p + 2 > area.length) bad('subpacket length truncated');
      length = ((l0 - 192) << 8) + (area[p + 1] ?? 0) + 192;
      p += 2;
    } else {
      if (p + 5 > area.length) bad('subpacket length truncated');
      length = new DataView(area.buffer, area.byteOffset + p + 1, 4).getUint32(0);
      p += 5;
    }
    if (length < 1) bad('a subpacket has length 0 (it must hold at least its type)');
    if (p + length > area.length) bad('subpacket overruns its area');
    const first = area[p] ?? 0;
    out.push({ type: first & 0x7f, critical: (first & 0x80) !== 0, body: area.subarray(p + 1, p + length) });
    p += length;
  }
  return out;
}

function readHashed(
  subpackets: readonly RawSubpacket[],
  bad: (reason: string) => never,
): { created: Date; expiresAfterSeconds: number | undefined; issuer: { fingerprint: string | undefined; keyId: string | undefined } } {
  let created: Date | undefined;
  let expires: number | undefined;
  let fingerprint: string | undefined;
  let keyId: string | undefined;
  const u32 = (s: RawSubpacket): number => {
    if (s.body.length !== 4) bad(`subpacket type ${s.type} has ${s.body.length} bytes, not 4`);
    return new DataView(s.body.buffer, s.body.byteOffset, 4).getUint32(0);
  };
  const once = (current: unknown, s: RawSubpacket): void => {
    if (current !== undefined) bad(`hashed subpacket type ${s.type} appears more than once`);
  };
  for (const s of subpackets) {
    // a critical subpacket we do not enforce would be a condition on validity that we ignore
    if (s.critical && !CRITICAL_UNDERSTOOD.has(s.type)) {
      const read = s.type === Subpacket.EXPIRES || s.type === Subpacket.ISSUER_FINGERPRINT;
      bad(
        read
          ? `hashed subpacket type ${s.type} is marked critical; only creation time (2) and issuer key ID (16) may be, as rpm 4.18 requires`
          : `critical hashed subpacket type ${s.type} is not understood`,
      );
    }
    switch (s.type) {
      case Subpacket.CREATED:
        once(created, s);
        created = new Date(u32(s) * 1000);
        break;
      case Subpacket.EXPIRES:
        once(expires, s);
        expires = u32(s);
        break;
      case Subpacket.ISSUER_FINGERPRINT:
        once(fingerprint, s);
        if (s.body.length !== 21 || s.body[0] !== 4) bad('issuer fingerprint is not a v4 fingerprint');
        fingerprint = hex(s.body.subarray(1));
        break;
      case Subpacket.ISSUER_KEY_ID:
        once(keyId, s);
        if (s.body.length !== 8) bad('issuer key ID is not 8 bytes');
        keyId = hex(s.body);
        break;
      case Subpacket.EMBEDDED_SIGNATURE:
        // only a subkey's binding signature carries one (its back-signature): never a package's
        bad('an embedded signature subpacket (type 32) has no place in a package signature');
        break;
      default:
        if (!HASHED_ALLOWED.has(s.type)) bad(`hashed subpacket type ${s.type} has no place in a package signature (only 2, 3, 16, 20, 24, 26, 28, 33 and 38 do)`);
        break;
    }
  }
  if (created === undefined) return bad('no hashed creation time');
  return { created, expiresAfterSeconds: expires, issuer: { fingerprint, keyId } };
}

/** The unhashed area is unsigned: empty, or exactly one non-critical issuer key ID, as gpg writes. */
function readUnhashed(area: Uint8Array, bad: (reason: string) => never): string | undefined {
  if (area.length === 0) return undefined;
  if (area.length !== 10 || area[0] !== 9 || area[1] !== Subpacket.ISSUER_KEY_ID) {
    return bad('unhashed subpackets other than a single issuer key ID are not allowed');
  }
  return hex(area.subarray(2));
}

function combineIssuer(
  hashed: { fingerprint: string | undefined; keyId: string | undefined },
  unhashedKeyId: string | undefined,
  bad: (reason: string) => never,
): SignatureIssuer {
  // rpm finds the signing key by the issuer key ID subpacket alone; without one it reports NOKEY
  if (hashed.keyId === undefined && unhashedKeyId === undefined) bad('no issuer key ID subpacket (16)');
  const fromFingerprint = hashed.fingerprint?.slice(-16);
  const ids = [fromFingerprint, hashed.keyId, unhashedKeyId].filter((v): v is string => v !== undefined);
  const [keyId] = ids;
  if (keyId === undefined) return bad('no issuer key ID');
  if (ids.some((id) => id !== keyId)) bad(fromFingerprint === undefined ? 'the hashed and unhashed issuer key IDs disagree' : 'issuer key IDs and fingerprint disagree');
  if (/^0+$/.test(keyId)) bad('wildcard issuer key ID');
  return { fingerprint: hashed.fingerprint, keyId };
}
