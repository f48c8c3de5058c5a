import * as openpgp from 'openpgp';
import { RpmVerifyError } from '../errors.ts';
import { armorBlocks, checkArmor } from './armor.ts';
import { checkPinnedKey } from './pinned-key.ts';
import { judgeKeyAlgorithm } from './policy.ts';
import { isRevoked } from './revocation.ts';
import { checkKeyPacketsForRpm, checkSameKeysAsRpm } from './rpm-key-import.ts';

/** The pinned keys. Opaque: only `loadKeyring` makes one. */
export interface Keyring {
  /** primary-key fingerprints, lowercase hex */
  readonly fingerprints: readonly string[];
}

/** What the verifier holds for a keyring. */
export interface PinnedKeys {
  readonly keys: readonly openpgp.PublicKey[];
  /** subkey fingerprint (lowercase hex) to why rpm 4.18 would never verify with it (see rpm-key-import.ts) */
  readonly subkeysRpmIgnores: ReadonlyMap<string, string>;
}

const pinnedKeys = new WeakMap<Keyring, PinnedKeys>();

/**
 * Parses ASCII-armored public keys (each string may hold several), checks each primary key
 * against the algorithm allow-list and the key policy (pinned-key.ts), then the armor itself, then
 * that rpm 4.18 could import the key packets and would read the same keys from them, noting the
 * subkeys it would leave out of its keyring (rpm-key-import.ts).
 * Expiry is checked per signature, at its creation time; any revocation counts whatever its date. `sourceNames[i]` (a file name, say)
 * names the i-th string in errors; without it the index does.
 */
export function loadKeyring(armoredKeys: readonly string[], sourceNames: readonly string[] = []): Promise<Keyring> {
  return readKeyring(armoredKeys, sourceNames, true);
}

/**
 * loadKeyring without the rpm import check, for this package's tests only (index.ts does not
 * export it): OpenPGP.js marks subpackets critical that rpm 4.18 does not implement (the embedded
 * back-signature of a signing subkey, a revocation's reason), so keys it makes cannot pass that
 * check, and the tests that build keys with it exercise the verifier beneath it.
 */
export function loadKeyringSkippingRpmImportCheck(armoredKeys: readonly string[], sourceNames: readonly string[] = []): Promise<Keyring> {
  return readKeyring(armoredKeys, sourceNames, false);
}

async function readKeyring(armoredKeys: readonly string[], sourceNames: readonly string[], rpmImportCheck: boolean): Promise<Keyring> {
  const keys: openpgp.PublicKey[] = [];
  const subkeysRpmIgnores = new Map<string, string>();
  const seen = new Set<string>();
  for (const [index, text] of armoredKeys.entries()) {
    const source = sourceNames[index] ?? String(index);
    const blockKeys: openpgp.Key[][] = [];
    const blocks = armorBlocks(text, source);
    for (const [i, armored] of blocks.entries()) {
      try {
        blockKeys.push(await openpgp.readKeys({ armoredKeys: armored }));
      } catch (err) {
        const first = await firstPacket(armored);
        // a v6 key of an algorithm OpenPGP.js cannot read (ML-DSA) says what it is, not its parse error
        if (first?.tag === 6 && first.version !== undefined && first.version > 4) {
          throw new RpmVerifyError('KEYRING_UNSUPPORTED', `key file ${source}: armored block ${i + 1} holds a v${first.version} key; rpm 4.18 reads v4 keys only`);
        }
        const reason =
          first?.tag === 2
            ? `armored block ${i + 1} holds no key, only signatures (a revocation certificate on its own?); ` +
              'merge a revocation into the key it revokes (gpg --import both, then gpg --export --armor the key)'
            : err instanceof Error ? err.message : String(err);
        throw new RpmVerifyError('KEYRING_PARSE', `key file ${source}: ${reason}`);
      }
    }
    for (const key of blockKeys.flat()) {
      const fpr = key.getFingerprint();
      if (key.isPrivate() || !(key instanceof openpgp.PublicKey)) {
        throw new RpmVerifyError('KEYRING_NOT_PUBLIC', `key ${fpr} in key file ${source}: a private key was given; pin public keys only`);
      }
      // rpm 4.18 imports v4 keys only: what a v6 key signed would pass here and fail in dom0's dnf
      // (said before the algorithm, which a v6 key may share with accepted v4 ones)
      const version = key.keyPacket.version;
      if (version !== 4) throw new RpmVerifyError('KEYRING_UNSUPPORTED', `key ${fpr} in key file ${source}: a v${version} key; rpm 4.18 reads v4 keys only`);
      const verdict = judgeKeyAlgorithm(key.getAlgorithmInfo());
      if (!verdict.ok) {
        throw new RpmVerifyError(verdict.weak ? 'KEYRING_WEAK_KEY' : 'KEYRING_UNSUPPORTED_ALGORITHM', `key ${fpr} in key file ${source}: ${verdict.reason} is not accepted`);
      }
      checkPinnedKey(key, `key ${fpr} in key file ${source}`);
      if (seen.has(fpr)) throw new RpmVerifyError('KEYRING_DUPLICATE', `key ${fpr} is given twice (again in key file ${source})`);
      seen.add(fpr);
      keys.push(key);
    }
    // after the keys themselves: a key refused for what it is says so, not how it was armored
    for (const [i, block] of blocks.entries()) checkArmor(block, `key file ${source}, armored block ${i + 1}`);
    // then what rpm's parser requires of the packets: dom0's dnf imports these very files
    if (!rpmImportCheck) continue;
    for (const [i, block] of blocks.entries()) {
      const where = `key file ${source}, armored block ${i + 1}`;
      const views = await checkKeyPacketsForRpm(block, where);
      checkSameKeysAsRpm(views, blockKeys[i] ?? [], where);
      for (const view of views) {
        for (const [fingerprint, reason] of view.subkeysRpmIgnores) subkeysRpmIgnores.set(fingerprint, reason);
      }
    }
  }
  if (keys.length === 0) throw new RpmVerifyError('KEYRING_EMPTY', 'no public keys were given');
  checkKeyIdsUnique(keys);
  const keyring: Keyring = Object.freeze({ fingerprints: Object.freeze([...seen]) });
  pinnedKeys.set(keyring, Object.freeze({ keys: Object.freeze(keys), subkeysRpmIgnores }));
  return keyring;
}

/**
 * rpm finds a key by its 64-bit key ID alone, among every key and signing subkey it holds: a
 * second certificate whose primary has the ID of a subkey already held is dropped whole on import
 * (rpmKeyringAddKey), though rpmkeys exits 0, and a signature by such an ID has two candidates.
 * So each key ID, primary or subkey, may stand for one key of the keyring only.
 */
function checkKeyIdsUnique(keys: readonly openpgp.PublicKey[]): void {
  const holders = new Map<string, string>();
  for (const key of keys) {
    for (const part of key.getKeys()) {
      const id = part.getKeyID().toHex().toLowerCase();
      const what = part === key ? `key ${key.getFingerprint()}` : `subkey ${part.getFingerprint()} of key ${key.getFingerprint()}`;
      const other = holders.get(id);
      if (other !== undefined) {
        throw new RpmVerifyError('KEYRING_DUPLICATE', `key ID ${id} stands for both ${other} and ${what}; rpm finds keys by key ID alone, and would keep only one of them`);
      }
      holders.set(id, what);
    }
  }
}

/**
 * The tag of an armored block's first packet and the first byte of its body (a key's or a
 * signature's version), for the message when OpenPGP.js reads no key from the block.
 */
async function firstPacket(armored: string): Promise<{ tag: number; version: number | undefined } | undefined> {
  try {
    // typed as a Stream, which OpenPGP.js's types leave unresolved: for a string input it is bytes
    const data: unknown = (await openpgp.unarmor(armored)).data;
    if (!(data instanceof Uint8Array)) return undefined;
    const first = data[0];
    if (first === undefined || (first & 0x80) === 0) return undefined;
    if ((first & 0x40) === 0) {
      // old format: the tag is bits 5-2, then 1, 2 or 4 length bytes
      return { tag: (first >> 2) & 0x0f, version: data[1 + (1 << (first & 0x03))] };
    }
    // new format: the tag is the low six bits, then 1, 2 or 5 length bytes
    const octet = data[1] ?? 0;
    const lengthBytes = octet < 192 ? 1 : octet < 224 ? 2 : 5;
    return { tag: first & 0x3f, version: data[1 + lengthBytes] };
  } catch {
    return undefined;
  }
}

export function keysOf(keyring: Keyring): PinnedKeys {
  const keys = pinnedKeys.get(keyring);
  if (keys === undefined) throw new RpmVerifyError('RPM_STATE', 'keyring was not made by loadKeyring');
  return keys;
}

/**
 * The key IDs (16 lowercase hex digits) of every pinned key and subkey not revoked (and, for a
 * subkey, one rpm keeps in its keyring): what
 * `rpm -q --qf '%{RSAHEADER:pgpsig}'` prints as "Key ID" for a package one of them signed. A
 * revoked key (its primary revoked, or the subkey itself) is left out: what it signed is no longer
 * trusted, even if it was signed before the revocation (the key may have leaked long before).
 */
export async function pinnedKeyIds(keyring: Keyring): Promise<ReadonlySet<string>> {
  const ids = new Set<string>();
  const { keys, subkeysRpmIgnores } = keysOf(keyring);
  for (const key of keys) {
    if (await isRevoked(key, undefined)) continue;
    ids.add(key.getKeyID().toHex().toLowerCase());
    for (const subkey of key.subkeys) {
      if (subkeysRpmIgnores.has(subkey.getFingerprint())) continue;
      if (!(await isRevoked(key, subkey))) ids.add(subkey.getKeyID().toHex().toLowerCase());
    }
  }
  return ids;
}
