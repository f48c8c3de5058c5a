import type { Hash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { RpmVerifyError } from '../errors.ts';
import { OPENPGP_CONFIG } from './policy.ts';
import type { ResolvedSigner } from './signer.ts';
import type { SignatureBlobInfo } from './signature-blob.ts';

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

/** OpenPGP.js 6.3's own hook for a digest computed elsewhere (its one-pass verification sets it). */
interface DigestSlot {
  hashed?: Promise<Uint8Array>;
}

/**
 * OpenPGP.js checks a signature over a digest we computed as the bytes streamed past. Handing it
 * the data instead makes it copy the data twice and keep it all (a 27 MB header cost 107 MB), and
 * the legacy header+payload signature covers the whole file. OpenPGP.js still does the rest: the
 * digest prefix, the RSA or EdDSA operation, its time and critical-subpacket checks, under our
 * config. Fail-closed if a later OpenPGP.js ignored the digest: it would hash the empty literal
 * data given here, and no signature over a header or payload verifies over nothing.
 */
export async function verifyDigestWithOpenPgp(
  digest: Buffer,
  signer: ResolvedSigner,
  info: SignatureBlobInfo,
  tag: number,
  member: string | undefined,
): Promise<void> {
  const bad = (reason: string): never => {
    throw new RpmVerifyError('RPM_SIG_BAD', `signature tag ${tag} does not verify: ${reason}`, member);
  };
  // our own gate first, for a clear reason: the two bytes every v4 signature carries in the clear
  if (digest[0] !== info.left16[0] || digest[1] !== info.left16[1]) bad('digest prefix mismatch (signed bytes changed)');
  const [packet] = signer.signature.packets;
  if (!(packet instanceof openpgp.SignaturePacket)) return bad('not a signature packet');
  (packet as unknown as DigestSlot).hashed = Promise.resolve(new Uint8Array(digest));
  try {
    await packet.verify(signer.signingKey.keyPacket, openpgp.enums.signature.binary, new openpgp.LiteralDataPacket(), signer.checkedAt, true, {
      ...openpgp.config,
      ...OPENPGP_CONFIG,
    });
  } catch (err) {
    bad(err instanceof Error ? err.message : String(err));
  }
}
