import * as openpgp from 'openpgp';

/**
 * Whether a pinned key, or one of its subkeys, carries a valid revocation: a revoked primary
 * revokes every subkey with it. Whatever its date and its reason: OpenPGP.js checks a soft one
 * ("superseded", "retired") against a date, which would let a key retired tomorrow sign today's
 * packages under a `now` set back; a null date turns those time checks off. No signature
 * argument: any valid revocation counts, and OpenPGP.js leaves the shared key objects alone.
 */
export async function isRevoked(primary: openpgp.PublicKey, subkey: openpgp.Subkey | undefined): Promise<boolean> {
  const anyDate = null as unknown as Date;
  if (await primary.isRevoked(undefined, undefined, anyDate, openpgp.config)) return true;
  const anySignature = undefined as unknown as openpgp.SignaturePacket;
  return subkey !== undefined && (await subkey.isRevoked(anySignature, primary.keyPacket, anyDate, openpgp.config));
}
