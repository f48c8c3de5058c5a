import * as openpgp from 'openpgp';
import { RpmVerifyError } from '../errors.ts';
import { directSignaturesOf, overRefusedHash, primarySelfSignatures } from './self-signatures.ts';

/** OpenPGP.js's hash names by id, for messages. */
const HASH_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(openpgp.enums.hash).map(([name, id]): [number, string] => [Number(id), name.toUpperCase()]));

function hashName(id: number | null | undefined): string {
  return HASH_NAMES.get(id ?? -1) ?? `hash ${String(id)}`;
}

/**
 * A signature over a refused hash that OpenPGP.js would skip for an older one: any, when none of
 * the set is strong; otherwise one made at or after the oldest strong one (an older weak one was
 * superseded before anything could fall back to it).
 */
function skippedWeak(signatures: readonly openpgp.SignaturePacket[]): openpgp.SignaturePacket | undefined {
  const time = (s: openpgp.SignaturePacket): number => s.created?.getTime() ?? 0;
  const strong = signatures.filter((s) => !overRefusedHash(s));
  const from = strong.length === 0 ? -Infinity : Math.min(...strong.map(time));
  return signatures.find((s) => overRefusedHash(s) && time(s) >= from);
}

/**
 * Refusals of a pinned key as a whole, said once when the keyring loads rather than as a
 * misleading reason on every package it signed. `where` names the key for the message.
 */
export function checkPinnedKey(key: openpgp.PublicKey, where: string): void {
  const directSignatures = directSignaturesOf(key);

  // a designated revoker is a third key whose revocation would count: OpenPGP.js cannot check one,
  // so a key naming one could be revoked without this verifier knowing
  if (primarySelfSignatures(key).some((signature) => signature.revocationKeyFingerprint !== null && signature.revocationKeyFingerprint !== undefined)) {
    throw new RpmVerifyError('KEYRING_UNSUPPORTED', `${where}: it names a designated revoker (another key that may revoke it), whose revocations cannot be checked here`);
  }

  // OpenPGP.js skips a self-signature over a hash the policy refuses and falls back to an older
  // one: an expiry or a withdrawn signing flag set in a newer one would be silently dropped
  const refuse = (what: string, signature: openpgp.SignaturePacket): never => {
    throw new RpmVerifyError(
      'KEYRING_WEAK_KEY',
      `${where}: ${what} uses ${hashName(signature.hashAlgorithm)}, a hash that is not accepted, so the expiry and flags it sets could not be honoured; re-sign the key with SHA-256 or stronger`,
    );
  };
  const check = (signatures: readonly openpgp.SignaturePacket[], what: string): void => {
    const skipped = skippedWeak(signatures);
    if (skipped === undefined) return;
    refuse(signatures.every(overRefusedHash) ? `every ${what}` : `a ${what} newer than an accepted one`, skipped);
  };
  for (const [index, user] of key.users.entries()) check(user.selfCertifications, `self-signature of user ID ${index + 1}`);
  for (const signature of directSignatures) if (overRefusedHash(signature)) refuse('a direct-key signature', signature);
  for (const subkey of key.subkeys) check(subkey.bindingSignatures, `binding signature of subkey ${subkey.getFingerprint()}`);
}
