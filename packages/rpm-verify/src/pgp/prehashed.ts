import { createPublicKey, publicDecrypt, timingSafeEqual, verify as nodeVerify, constants, type Hash } from 'node:crypto';
import type * as openpgp from 'openpgp';
import { RpmVerifyError } from '../errors.ts';
import { PublicKeyAlgo, type HashName, type SignatureBlobInfo } from './signature-blob.ts';

/** DER DigestInfo prefixes for PKCS#1 v1.5 (RFC 8017, section 9.2, note 1). */
const DIGEST_INFO: Readonly<Record<HashName, Buffer>> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/** Appends the v4 signature trailer to a hash that has already seen the signed data. */
export function finishV4Digest(hash: Hash, info: SignatureBlobInfo): Buffer {
  hash.update(info.hashedPart);
  const trailer = Buffer.alloc(6);
  trailer[0] = 0x04;
  trailer[1] = 0xff;
  trailer.writeUInt32BE(info.hashedPart.length, 2);
  hash.update(trailer);
  return hash.digest();
}

function leftPad(bytes: Uint8Array, length: number): Buffer {
  if (bytes.length > length) throw new Error('signature value longer than the key');
  const out = Buffer.alloc(length);
  out.set(bytes, length - bytes.length);
  return out;
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/**
 * Verifies a v4 signature whose digest was computed incrementally (the legacy header+payload
 * signature: hashing the payload once as it streams is the whole point). The key was already
 * resolved and checked with OpenPGP.js; this is only the final public-key operation.
 */
export function verifyPrehashed(
  digest: Buffer,
  info: SignatureBlobInfo,
  signingKey: openpgp.PublicKey | openpgp.Subkey,
  tag: number,
  member: string | undefined,
): void {
  const bad = (reason: string): never => {
    throw new RpmVerifyError('RPM_SIG_BAD', `signature tag ${tag} does not verify: ${reason}`, member);
  };
  if (digest[0] !== info.left16[0] || digest[1] !== info.left16[1]) bad('digest prefix mismatch (header or payload changed)');
  const params = signingKey.keyPacket.publicParams as Record<string, unknown>;
  let ok = false;
  try {
    if (info.publicKeyAlgorithm === PublicKeyAlgo.RSA || info.publicKeyAlgorithm === PublicKeyAlgo.RSA_SIGN) {
      const n = params['n'];
      const e = params['e'];
      const [s] = info.mpis;
      if (!(n instanceof Uint8Array) || !(e instanceof Uint8Array) || s === undefined) return bad('unexpected RSA key or signature shape');
      const key = createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
      const decoded = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, leftPad(s, n.length));
      const expected = Buffer.concat([DIGEST_INFO[info.hashName], digest]);
      ok = decoded.length === expected.length && timingSafeEqual(decoded, expected);
    } else if (info.publicKeyAlgorithm === PublicKeyAlgo.EDDSA_LEGACY) {
      const q = params['Q'];
      const [r, s] = info.mpis;
      // legacy EdDSA keys store the point as 0x40 || 32 bytes
      if (!(q instanceof Uint8Array) || q.length !== 33 || q[0] !== 0x40 || r === undefined || s === undefined) {
        return bad('unexpected EdDSA key or signature shape');
      }
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(q.subarray(1)) }, format: 'jwk' });
      ok = nodeVerify(null, digest, key, Buffer.concat([leftPad(r, 32), leftPad(s, 32)]));
    } else {
      return bad(`algorithm ${info.publicKeyAlgorithm} is not supported`);
    }
  } catch (err) {
    if (err instanceof RpmVerifyError) throw err;
    return bad(err instanceof Error ? err.message : String(err));
  }
  if (!ok) bad('bad signature value');
}
