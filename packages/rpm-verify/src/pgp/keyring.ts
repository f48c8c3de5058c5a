import * as openpgp from 'openpgp';
import { RpmVerifyError } from '../errors.ts';
import { judgeKeyAlgorithm, OPENPGP_CONFIG } from './policy.ts';
import { isRevokedAt } from './revocation.ts';

/** The pinned keys. Opaque: only `loadKeyring` makes one. */
export interface Keyring {
  /** primary-key fingerprints, lowercase hex */
  readonly fingerprints: readonly string[];
}

const pinnedKeys = new WeakMap<Keyring, readonly openpgp.PublicKey[]>();

/**
 * Parses ASCII-armored public keys (each string may hold several) and checks each primary key
 * against the algorithm allow-list. Time-dependent checks (expiry, revocation) happen per
 * signature, against the verifier's explicit reference date. `sourceNames[i]` (a file name, say)
 * names the i-th string in errors; without it the index does.
 */
export async function loadKeyring(armoredKeys: readonly string[], sourceNames: readonly string[] = []): Promise<Keyring> {
  const keys: openpgp.PublicKey[] = [];
  const seen = new Set<string>();
  for (const [index, text] of armoredKeys.entries()) {
    const source = sourceNames[index] ?? String(index);
    const parsed: openpgp.Key[] = [];
    for (const armored of armorBlocks(text, source)) {
      try {
        parsed.push(...(await openpgp.readKeys({ armoredKeys: armored })));
      } catch (err) {
        throw new RpmVerifyError('KEYRING_PARSE', `key file ${source}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (const key of parsed) {
      const fpr = key.getFingerprint();
      if (key.isPrivate() || !(key instanceof openpgp.PublicKey)) {
        throw new RpmVerifyError('KEYRING_NOT_PUBLIC', `key ${fpr} in key file ${source}: a private key was given; pin public keys only`);
      }
      const verdict = judgeKeyAlgorithm(key.getAlgorithmInfo());
      if (!verdict.ok) {
        throw new RpmVerifyError(verdict.weak ? 'KEYRING_WEAK_KEY' : 'KEYRING_UNSUPPORTED_ALGORITHM', `key ${fpr} in key file ${source}: ${verdict.reason} is not accepted`);
      }
      // every self-signature over a hash the policy refuses: the key could sign nothing we accept,
      // so that is said once here rather than as RPM_KEY_INVALID on each package it signed
      const selfSigned = selfSignatureHashes(key);
      if (selfSigned.length > 0 && !selfSigned.some((hash) => !REFUSED_HASHES.has(hash))) {
        throw new RpmVerifyError('KEYRING_WEAK_KEY', `key ${fpr} in key file ${source}: every self-signature uses a hash that is not accepted (MD5, SHA-1, RIPEMD-160 or SHA-224)`);
      }
      if (seen.has(fpr)) throw new RpmVerifyError('KEYRING_DUPLICATE', `key ${fpr} is given twice (again in key file ${source})`);
      seen.add(fpr);
      keys.push(key);
    }
  }
  if (keys.length === 0) throw new RpmVerifyError('KEYRING_EMPTY', 'no public keys were given');
  const keyring: Keyring = Object.freeze({ fingerprints: Object.freeze([...seen]) });
  pinnedKeys.set(keyring, Object.freeze(keys));
  return keyring;
}

const REFUSED_HASHES: ReadonlySet<number> = OPENPGP_CONFIG.rejectHashAlgorithms ?? new Set();

/** The hash of each user ID's self-signature (a key without any is left to OpenPGP.js to judge per signature). */
function selfSignatureHashes(key: openpgp.PublicKey): number[] {
  return key.users.flatMap((user) => user.selfCertifications.map((signature) => signature.hashAlgorithm ?? -1));
}

const BEGIN = '-----BEGIN PGP PUBLIC KEY BLOCK-----';
const END = '-----END PGP PUBLIC KEY BLOCK-----';

// GnuPG's armor line for `--export-secret-keys`; PGP 2 wrote SECRET
const PRIVATE_KEY_BLOCK = /^-----BEGIN PGP (?:PRIVATE|SECRET) KEY BLOCK-----/m;

/** OpenPGP.js reads only the first armor block of a string; a key file may hold several. */
function armorBlocks(text: string, source: string): string[] {
  // any block but a public one is "text outside"; a private key where the public one belongs is a
  // likely mistake, so it is named as what it is
  if (PRIVATE_KEY_BLOCK.test(text)) {
    throw new RpmVerifyError('KEYRING_PARSE', `key file ${source}: an armored private key block, not a public key; pin public keys only (gpg --export --armor)`);
  }
  const blocks: string[] = [];
  let rest = text;
  for (;;) {
    const begin = rest.indexOf(BEGIN);
    if (begin < 0) break;
    if (rest.slice(0, begin).trim() !== '') throw new RpmVerifyError('KEYRING_PARSE', `key file ${source}: text outside an armored public key block`);
    const end = rest.indexOf(END, begin);
    if (end < 0) throw new RpmVerifyError('KEYRING_PARSE', `key file ${source}: armored block without an end line`);
    blocks.push(rest.slice(begin, end + END.length));
    rest = rest.slice(end + END.length);
  }
  if (rest.trim() !== '') throw new RpmVerifyError('KEYRING_PARSE', `key file ${source}: text outside an armored public key block`);
  if (blocks.length === 0) throw new RpmVerifyError('KEYRING_PARSE', `key file ${source}: no armored public key block`);
  return blocks;
}

export function keysOf(keyring: Keyring): readonly openpgp.PublicKey[] {
  const keys = pinnedKeys.get(keyring);
  if (keys === undefined) throw new RpmVerifyError('RPM_STATE', 'keyring was not made by loadKeyring');
  return keys;
}

/**
 * The key IDs (16 lowercase hex digits) of every pinned key and subkey not revoked at `now`: what
 * `rpm -q --qf '%{RSAHEADER:pgpsig}'` prints as "Key ID" for a package one of them signed. A
 * revoked key (its primary revoked, or the subkey itself) is left out: what it signed is no longer
 * trusted, even if it was signed before the revocation (the key may have leaked long before).
 */
export async function pinnedKeyIds(keyring: Keyring, now: Date = new Date()): Promise<ReadonlySet<string>> {
  const ids = new Set<string>();
  for (const key of keysOf(keyring)) {
    if (await isRevokedAt(key, undefined, now)) continue;
    ids.add(key.getKeyID().toHex().toLowerCase());
    for (const subkey of key.subkeys) {
      if (!(await isRevokedAt(key, subkey, now))) ids.add(subkey.getKeyID().toHex().toLowerCase());
    }
  }
  return ids;
}
