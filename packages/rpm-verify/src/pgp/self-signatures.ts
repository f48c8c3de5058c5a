import type * as openpgp from 'openpgp';
import { OPENPGP_CONFIG } from './policy.ts';

const REFUSED_HASHES: ReadonlySet<number> = OPENPGP_CONFIG.rejectHashAlgorithms ?? new Set();

/** Whether a signature is over a hash the policy refuses (OpenPGP.js then skips it). */
export function overRefusedHash(signature: openpgp.SignaturePacket): boolean {
  return REFUSED_HASHES.has(signature.hashAlgorithm ?? -1);
}

/** The primary key's direct-key signatures, held by every Key at run time but missing from OpenPGP.js's type declarations. */
export function directSignaturesOf(key: openpgp.PublicKey): readonly openpgp.SignaturePacket[] {
  return (key as unknown as { directSignatures?: openpgp.SignaturePacket[] }).directSignatures ?? [];
}

/**
 * The self-signatures over the key's user IDs: what OpenPGP.js judges a v4 key's validity at a
 * date by (it reads no direct-key signature for that).
 */
export function userSelfSignatures(key: openpgp.PublicKey): readonly openpgp.SignaturePacket[] {
  return key.users.flatMap((user) => user.selfCertifications);
}

/** The primary key's self-signatures: direct-key ones and those over each user ID. */
export function primarySelfSignatures(key: openpgp.PublicKey): readonly openpgp.SignaturePacket[] {
  return [...directSignaturesOf(key), ...userSelfSignatures(key)];
}

/**
 * Whether some signature of the set that the policy would let count was made at or before
 * `date`. Decided from the packets' own dates and hashes, so the answer does not depend on the
 * order they come in (OpenPGP.js's refusal names whichever it tried last).
 */
export function hasUsableSignatureBy(signatures: readonly openpgp.SignaturePacket[], date: Date): boolean {
  return signatures.some((signature) => !overRefusedHash(signature) && signature.created !== null && signature.created.getTime() <= date.getTime());
}
