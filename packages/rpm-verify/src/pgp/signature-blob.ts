import { RpmVerifyError } from '../errors.ts';

const PACKET_TAG_SIGNATURE = 2;
const SIG_TYPE_BINARY = 0x00;

/** OpenPGP public-key algorithm ids we accept, with the rpm tag family each belongs to. */
export const PublicKeyAlgo = { RSA: 1, RSA_SIGN: 3, EDDSA_LEGACY: 22 } as const;
/** OpenPGP hash ids we accept: SHA-256/384/512. MD5 (1), SHA-1 (2), RIPEMD (3), SHA-224 (11) are weak. */
export const HashAlgo = { SHA256: 8, SHA384: 9, SHA512: 10 } as const;
export type HashName = 'sha256' | 'sha384' | 'sha512';
const HASH_NAMES: Readonly<Record<number, HashName>> = { 8: 'sha256', 9: 'sha384', 10: 'sha512' };
const ALGO_NAMES: Readonly<Record<number, string>> = { 1: 'RSA', 3: 'RSA', 22: 'EdDSA' };

/**
 * The parts of a v4 signature packet we need for checks and for verifying a precomputed digest.
 * Parsed by hand so that the blob's framing is exact: one packet, no trailing bytes.
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
}

export function parseSignatureBlob(blob: Uint8Array, tag: number, member: string | undefined): SignatureBlobInfo {
  const bad = (reason: string): never => {
    throw new RpmVerifyError('RPM_SIG_BLOB_BAD', `signature tag ${tag}: ${reason}`, member);
  };
  let bodyStart: number;
  let bodyLength: number;
  const at = (i: number): number => {
    const v = blob[i];
    return v === undefined ? bad('packet header truncated') : v;
  };
  const first = at(0);
  if ((first & 0x80) === 0) bad('not an OpenPGP packet');
  if ((first & 0x40) === 0) {
    // old format: tag in bits 5..2, length type in bits 1..0
    if (((first >> 2) & 0x0f) !== PACKET_TAG_SIGNATURE) bad('packet is not a signature packet');
    const lengthType = first & 0x03;
    if (lengthType === 0) {
      bodyLength = at(1);
      bodyStart = 2;
    } else if (lengthType === 1) {
      bodyLength = (at(1) << 8) | at(2);
      bodyStart = 3;
    } else if (lengthType === 2) {
      bodyLength = ((at(1) << 24) >>> 0) + ((at(2) << 16) | (at(3) << 8) | at(4));
      bodyStart = 5;
    } else {
      return bad('indeterminate packet length');
    }
  } else {
    if ((first & 0x3f) !== PACKET_TAG_SIGNATURE) bad('packet is not a signature packet');
    const l0 = at(1);
    if (l0 < 192) {
      bodyLength = l0;
      bodyStart = 2;
    } else if (l0 < 224) {
      bodyLength = ((l0 - 192) << 8) + at(2) + 192;
      bodyStart = 3;
    } else if (l0 === 255) {
      bodyLength = ((at(2) << 24) >>> 0) + ((at(3) << 16) | (at(4) << 8) | at(5));
      bodyStart = 6;
    } else {
      return bad('partial body lengths are not allowed in a signature');
    }
  }
  if (bodyStart + bodyLength !== blob.length) {
    bad(bodyStart + bodyLength < blob.length ? 'trailing bytes after the signature packet' : 'signature packet truncated');
  }
  const body = blob.subarray(bodyStart);
  const version = at(bodyStart);
  if (version !== 4) bad(`signature packet version ${version} (only v4 is accepted)`);
  if (body[1] !== SIG_TYPE_BINARY) bad(`signature type 0x${(body[1] ?? 0).toString(16)} is not binary (0x00)`);
  const publicKeyAlgorithm = body[2] ?? 0;
  const hashAlgorithm = body[3] ?? 0;
  const algorithmName = ALGO_NAMES[publicKeyAlgorithm];
  if (algorithmName === undefined) {
    throw new RpmVerifyError('RPM_WEAK_KEY', `signature tag ${tag}: public-key algorithm ${publicKeyAlgorithm} is not allowed`, member);
  }
  const isRsa = publicKeyAlgorithm === PublicKeyAlgo.RSA || publicKeyAlgorithm === PublicKeyAlgo.RSA_SIGN;
  if ((tag === 268 || tag === 1002) !== isRsa) {
    throw new RpmVerifyError('RPM_SIG_ALGO_MISMATCH', `signature tag ${tag} holds a ${algorithmName} signature (RSA belongs in 268/1002, others in 267/1005)`, member);
  }
  const hashName = HASH_NAMES[hashAlgorithm];
  if (hashName === undefined) {
    throw new RpmVerifyError('RPM_WEAK_HASH', `signature tag ${tag}: hash algorithm ${hashAlgorithm} is not SHA-256/384/512`, member);
  }
  if (body.length < 6) bad('signature packet truncated');
  const hashedLength = ((body[4] ?? 0) << 8) | (body[5] ?? 0);
  const hashedEnd = 6 + hashedLength;
  if (hashedEnd + 2 > body.length) bad('hashed subpackets overrun the packet');
  const unhashedLength = ((body[hashedEnd] ?? 0) << 8) | (body[hashedEnd + 1] ?? 0);
  const unhashedEnd = hashedEnd + 2 + unhashedLength;
  if (unhashedEnd + 2 > body.length) bad('unhashed subpackets overrun the packet');
  const left16 = body.subarray(unhashedEnd, unhashedEnd + 2);
  const mpiCount = isRsa ? 1 : 2;
  const mpis: Uint8Array[] = [];
  let p = unhashedEnd + 2;
  for (let i = 0; i < mpiCount; i++) {
    if (p + 2 > body.length) bad('signature value truncated');
    const bits = ((body[p] ?? 0) << 8) | (body[p + 1] ?? 0);
    const bytes = Math.ceil(bits / 8);
    if (bits === 0 || p + 2 + bytes > body.length) bad('signature value truncated');
    mpis.push(body.subarray(p + 2, p + 2 + bytes));
    p += 2 + bytes;
  }
  if (p !== body.length) bad('trailing bytes inside the signature packet');
  return { publicKeyAlgorithm, algorithmName, hashAlgorithm, hashName, hashedPart: body.subarray(0, hashedEnd), left16, mpis };
}
