import * as openpgp from 'openpgp';
import { RpmVerifyError } from '../errors.ts';
import { judgeKeyAlgorithm, OPENPGP_CONFIG } from './policy.ts';
import { isRevoked } from './revocation.ts';
import { directSignaturesOf, hasUsableSignatureBy, overRefusedHash, userSelfSignatures } from './self-signatures.ts';
import type { PinnedKeys } from './keyring.ts';
import type { SignatureBlobInfo } from './signature-blob.ts';

/** OpenPGP.js's names for the key algorithms of the signature allow-list. */
const KEY_ALGORITHM_NAMES: Readonly<Record<number, string>> = { 1: 'rsaEncryptSign', 22: 'eddsaLegacy' };

export interface ResolvedSigner {
  readonly primary: openpgp.PublicKey;
  readonly signingKey: openpgp.PublicKey | openpgp.Subkey;
  readonly signature: openpgp.Signature;
  readonly created: Date;
  readonly fingerprint: string;
  readonly signingKeyFingerprint: string;
  /**
   * The date the signature is checked at: the reference date, or the signature's creation time
   * when the signer's clock ran ahead of it within CLOCK_SKEW_TOLERANCE_MS.
   */
  readonly checkedAt: Date;
}

/**
 * How far a signature's creation time may lie after the reference date: a signer's clock ahead
 * of dom0's, or a package signed minutes before it arrives. rpm 4.18 sets no limit; Sequoia
 * (rpm-sequoia) allows 30 minutes against the current time (none against an explicit one); here
 * the window holds for any reference date, which only tests set.
 */
export const CLOCK_SKEW_TOLERANCE_MS = 30 * 60_000;

/** Whether the big-endian unsigned `value` (a minimal MPI) is below `modulus`. */
function isBelow(value: Uint8Array, modulus: Uint8Array): boolean {
  let start = 0;
  while (start < modulus.length && modulus[start] === 0) start++;
  const n = modulus.subarray(start);
  if (value.length !== n.length) return value.length < n.length;
  for (let i = 0; i < n.length; i++) {
    if (value[i] !== n[i]) return (value[i] ?? 0) < (n[i] ?? 0);
  }
  return false;
}

/** The order L of the Ed25519 group (RFC 8032), big-endian. */
const ED25519_ORDER = Uint8Array.from([
  0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0x14, 0xde, 0xf9, 0xde, 0xa2, 0xf7, 0x9c, 0xd6, 0x58, 0x12, 0x63, 0x1a, 0x5c, 0xf5, 0xd3, 0xed,
]);

/**
 * Whether a legacy EdDSA S value is below L. Its MPI holds S's native 32-byte little-endian
 * encoding with leading zero bytes stripped, so the value itself is those bytes reversed.
 */
function isCanonicalEd25519S(mpi: Uint8Array): boolean {
  if (mpi.length > 32) return false;
  const native = new Uint8Array(32);
  native.set(mpi, 32 - mpi.length);
  const value = native.reverse();
  let first = 0;
  while (first < 31 && value[first] === 0) first += 1;
  return isBelow(value.subarray(first), ED25519_ORDER);
}

/**
 * Why the primary key's newest valid direct-key signature made by `date` withdraws its right to
 * sign, or undefined. OpenPGP.js reads a v4 key's usage from its user ID self-signatures alone;
 * gpg honours a direct-key signature's key flags too ("Wrong key usage"), and so does this
 * verifier: the primary signs only when neither kind of self-signature says it may not. A newest
 * one that sets no key flags says nothing on usage.
 */
async function directKeyWithdrawal(primary: openpgp.PublicKey, date: Date, config: openpgp.Config): Promise<string | undefined> {
  const made = (signature: openpgp.SignaturePacket): number => signature.created?.getTime() ?? Infinity;
  const candidates = directSignaturesOf(primary)
    .filter((signature) => !overRefusedHash(signature) && made(signature) <= date.getTime())
    .sort((a, b) => made(b) - made(a));
  for (const signature of candidates) {
    const verifies = await signature.verify(primary.keyPacket, openpgp.enums.signature.key, { key: primary.keyPacket }, date, false, config).then(
      () => true,
      () => false,
    );
    if (!verifies) continue;
    const flags = signature.keyFlags?.[0];
    if (flags === undefined || (flags & openpgp.enums.keyFlags.signData) !== 0) return undefined;
    return `its direct-key signature of ${new Date(made(signature)).toISOString()} withdraws its right to sign (key flags 0x${flags.toString(16).padStart(2, '0')})`;
  }
  return undefined;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Finds the pinned key (or subkey of one) that issued the signature and checks it at the
 * signature's creation time: strong enough, not expired, signing-capable, bound to its primary;
 * and not revoked at all (a revocation after the fact may mean the key leaked long before).
 */
export async function resolveSigner(
  { keys, subkeysRpmIgnores }: PinnedKeys,
  blob: Uint8Array,
  info: SignatureBlobInfo,
  tag: number,
  now: Date,
  member: string | undefined,
): Promise<ResolvedSigner> {
  const fail = (code: ConstructorParameters<typeof RpmVerifyError>[0], reason: string): never => {
    throw new RpmVerifyError(code, `signature tag ${tag}: ${reason}`, member);
  };
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ binarySignature: blob, config: OPENPGP_CONFIG });
  } catch (err) {
    return fail('RPM_SIG_BLOB_BAD', `unreadable signature packet: ${describe(err)}`);
  }
  const packets = signature.packets;
  const packet = packets[0];
  if (packets.length !== 1 || !(packet instanceof openpgp.SignaturePacket)) return fail('RPM_SIG_BLOB_BAD', 'not exactly one signature packet');
  // our parse of the blob decides; OpenPGP.js must have read the same packet
  const created = info.created;
  if (
    packet.created?.getTime() !== created.getTime() ||
    Number(packet.publicKeyAlgorithm) !== info.publicKeyAlgorithm ||
    Number(packet.hashAlgorithm) !== info.hashAlgorithm ||
    packet.issuerKeyID.toHex() !== info.issuer.keyId
  ) {
    return fail('RPM_SIG_BLOB_BAD', 'signature packet parsed inconsistently');
  }
  if (created.getTime() > now.getTime() + CLOCK_SKEW_TOLERANCE_MS) {
    return fail('RPM_SIG_TIME', `signature created ${created.toISOString()}, more than ${CLOCK_SKEW_TOLERANCE_MS / 60_000} minutes after the reference date ${now.toISOString()}`);
  }
  const checkedAt = created.getTime() > now.getTime() ? created : now;
  if (info.expiresAfterSeconds !== undefined && info.expiresAfterSeconds > 0) {
    const expires = new Date(created.getTime() + info.expiresAfterSeconds * 1000);
    if (expires.getTime() <= now.getTime()) return fail('RPM_SIG_TIME', `signature expired ${expires.toISOString()}, before the reference date ${now.toISOString()}`);
  }

  // exactly one pinned key or subkey may answer to the issuer: no wildcard, no guessing
  const issuer = info.issuer;
  const matches: { primary: openpgp.PublicKey; key: openpgp.PublicKey | openpgp.Subkey }[] = [];
  for (const key of keys) {
    for (const candidate of key.getKeys()) {
      const hit = issuer.fingerprint !== undefined ? candidate.getFingerprint() === issuer.fingerprint : candidate.getKeyID().toHex() === issuer.keyId;
      if (hit) matches.push({ primary: key, key: candidate });
    }
  }
  const [match] = matches;
  if (match === undefined) return fail('RPM_KEY_NOT_TRUSTED', `issuer ${issuer.fingerprint ?? issuer.keyId} is not a pinned key or a subkey of one`);
  if (matches.length > 1) return fail('RPM_KEY_INVALID', `issuer key ID ${issuer.keyId} is ambiguous among the pinned keys`);
  const primary = match.primary;
  const signingKey = match.key;
  const verdict = judgeKeyAlgorithm(signingKey.getAlgorithmInfo());
  if (!verdict.ok) return fail('RPM_WEAK_KEY', `signing key ${signingKey.getFingerprint()}: ${verdict.reason} is not accepted`);
  if (signingKey.getAlgorithmInfo().algorithm !== KEY_ALGORITHM_NAMES[info.publicKeyAlgorithm]) {
    return fail('RPM_SIG_ALGO_MISMATCH', 'signature algorithm does not match the issuing key');
  }
  if (KEY_ALGORITHM_NAMES[info.publicKeyAlgorithm] !== 'eddsaLegacy') {
    const { n } = signingKey.keyPacket.publicParams as { n?: unknown };
    if (!(n instanceof Uint8Array)) return fail('RPM_KEY_INVALID', `key ${signingKey.getFingerprint()} has no RSA modulus`);
    // RFC 8017 5.2.2: s must be below n; rpm 4.18 takes s + k*n as well, one signature in many encodings
    if (!isBelow(info.mpis[0] ?? new Uint8Array(0), n)) return fail('RPM_SIG_BLOB_BAD', 'RSA signature value is not below the key modulus');
  } else if (!isCanonicalEd25519S(info.mpis[1] ?? new Uint8Array(0))) {
    // RFC 8032 5.1.7: S must be below the group order; rpm 4.18 takes S + L as well
    return fail('RPM_SIG_BLOB_BAD', 'Ed25519 signature value S is not below the group order');
  }
  if (signingKey.getCreationTime().getTime() > created.getTime()) {
    return fail('RPM_SIG_TIME', `signature created ${created.toISOString()}, before its key was (${signingKey.getCreationTime().toISOString()})`);
  }

  const subkey = signingKey === primary ? undefined : (signingKey as openpgp.Subkey);
  // rpm's keyring lacks this subkey, so dom0's dnf would refuse what it signed
  const rpmIgnores = subkey === undefined ? undefined : subkeysRpmIgnores.get(subkey.getFingerprint());
  if (rpmIgnores !== undefined) return fail('RPM_KEY_INVALID', `subkey ${signingKey.getFingerprint()} of a pinned key: rpm 4.18 would not verify with it: ${rpmIgnores}`);
  if (await isRevoked(primary, subkey)) return fail('RPM_KEY_REVOKED', `key ${signingKey.getFingerprint()} is revoked`);
  const fpr = signingKey.getFingerprint();
  const resolved: ResolvedSigner = { primary, signingKey, signature, created, fingerprint: primary.getFingerprint(), signingKeyFingerprint: fpr, checkedAt };
  const config = { ...openpgp.config, ...OPENPGP_CONFIG };
  /** Why OpenPGP.js refuses the check, in its words; undefined when it passes. */
  const refusalOf = (check: Promise<unknown>): Promise<string | undefined> => check.then(() => undefined, (err: unknown) => describe(err));
  const refusalAt = (date: Date): Promise<string | undefined> =>
    refusalOf(
      primary.getSigningKey(signingKey.getKeyID(), date, undefined, config).then((valid) => {
        if (valid.getFingerprint() !== fpr) throw new Error('a different key is the valid signing key');
      }),
    );
  const bindings = `self-signature of the key${subkey === undefined ? '' : ' or binding of the subkey'}`;
  /** OpenPGP.js's refusal of the key at a date, in words (never its advice on options). */
  const refuse = (message: string, at: string, expired: string): never => {
    if (/expired/i.test(message)) return fail('RPM_KEY_EXPIRED', expired);
    // the key itself is not revoked (checked above): what OpenPGP.js found revoked is a user ID
    if (/revoked/i.test(message)) return fail('RPM_KEY_INVALID', `${at}: no user ID of it is valid (a user ID is revoked): ${message}`);
    if (/key flags/i.test(message)) return fail('RPM_KEY_INVALID', `${at}: its self-signature sets no key flags, so nothing says it may sign`);
    if (/creation time is in the future/i.test(message)) return fail('RPM_KEY_INVALID', `${at}: no ${bindings} is that old`);
    if (/missing embedded signature/i.test(message)) return fail('RPM_KEY_INVALID', `${at}: the subkey's binding has no back-signature (the subkey's own signature over the binding), which a signing subkey needs`);
    if (/could not find valid signing key packet in key [0-9a-f]+$/i.test(message)) return fail('RPM_KEY_INVALID', `${at}: its newest valid self-signature${subkey === undefined ? '' : ' (the subkey\'s binding)'} does not let it sign`);
    return fail('RPM_KEY_INVALID', `${at}: ${message}`);
  };
  const atSigning = `key ${fpr} cannot sign at ${created.toISOString()}`;
  /** The signer, once OpenPGP.js took the key at `date`, unless a direct-key signature says otherwise. */
  const acceptedAt = async (date: Date, at: string): Promise<ResolvedSigner> => {
    const withdrawn = subkey === undefined ? await directKeyWithdrawal(primary, date, config) : undefined;
    return withdrawn === undefined ? resolved : fail('RPM_KEY_INVALID', `${at}: ${withdrawn}`);
  };
  const message = await refusalAt(created);
  if (message === undefined) return acceptedAt(created, atSigning);
  // Decided from the user ID self-signatures' own dates (a v4 key's validity at a date is judged by
  // them alone; a direct-key signature does not count), not from OpenPGP.js's words: its refusal names
  // whichever signature it tried last, so an old SHA-1 one (skipped by policy) beside a newer
  // SHA-256 one would read as a weak hash in one packet order and as "too new" in the other.
  if (hasUsableSignatureBy(userSelfSignatures(primary), created)) {
    if (subkey !== undefined && !hasUsableSignatureBy(subkey.bindingSignatures, created)) {
      return fail('RPM_KEY_INVALID', `${atSigning}: every binding of the subkey over an accepted hash is newer than the signature, so nothing bound it to the key when it signed (rpm-sequoia refuses this too)`);
    }
    return refuse(message, atSigning, `key ${fpr} was expired when the signature was made (${created.toISOString()})`);
  }
  // OpenPGP.js judges a key by its self-signatures valid at the signature's time, and none is
  // older: gpg replaces the self-signature when an expiry or usage is changed, so a key whose life
  // was extended after it signed has only newer ones (and a key re-signed over SHA-256 has only
  // refused SHA-1 ones older). As rpm-sequoia does, the key is then judged by them at the
  // reference date: it must be able to sign and be unexpired then. Made before the signature
  // (checked above), its life by them covers the signature's time too; what it was allowed to do
  // before them is unknown, and what they allow is taken for it. Like rpm-sequoia, only for the
  // primary key: a primary valid then and a subkey bound only later is refused (above).
  const newer = `every ${bindings} over an accepted hash is newer than the signature`;
  const later = await refusalAt(checkedAt);
  if (later === undefined) return acceptedAt(checkedAt, `key ${fpr} cannot sign at the reference date ${checkedAt.toISOString()} (${newer})`);
  const atReference = `key ${fpr} cannot sign at ${created.toISOString()} (${newer}) nor at the reference date ${checkedAt.toISOString()}`;
  return refuse(later, atReference, `key ${fpr}: ${newer}, and by them the key is expired at the reference date ${checkedAt.toISOString()}`);
}
