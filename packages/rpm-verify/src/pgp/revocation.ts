import * as openpgp from 'openpgp';

/**
 * Whether a pinned key, or one of its subkeys, is revoked at `when`: a revoked primary revokes
 * every subkey with it. No signature argument: any valid revocation counts, and OpenPGP.js leaves
 * the shared key objects alone.
 */
export async function isRevokedAt(primary: openpgp.PublicKey, subkey: openpgp.Subkey | undefined, when: Date): Promise<boolean> {
  if (await primary.isRevoked(undefined, undefined, when, openpgp.config)) return true;
  const anySignature = undefined as unknown as openpgp.SignaturePacket;
  return subkey !== undefined && (await subkey.isRevoked(anySignature, primary.keyPacket, when, openpgp.config));
}
