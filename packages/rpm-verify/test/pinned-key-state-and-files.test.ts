/**
 * Red-team findings (OpenPGP side): key state the pinned key's owner set, and the reasons given
 * when OpenPGP.js refuses a key for something other than a revocation or an expiry.
 */
import { createHash, createPrivateKey, sign as nodeSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
// keys made by OpenPGP.js, which rpm 4.18 cannot import (see loadKeyringSkippingRpmImportCheck):
// these tests exercise the verifier beneath that check
import { loadKeyringSkippingRpmImportCheck as loadKeyring } from '../src/pgp/keyring.ts';
import { fixtures, type Loaded } from './support/fixtures.ts';
import { encodeSubpackets, forgePackage, generateEdKey, KEY_DATE, oldFormatPacket, rawSign, SIGN_DATE, sub, subkeySigner } from './support/forge.ts';
import { splitPackage, type PackageParts } from './support/package-bytes.ts';
import { codeOf, NOW, verifyBytes } from './support/verify-bytes.ts';

let fx: Loaded;
let ed: PackageParts;
beforeAll(async () => {
  fx = await fixtures();
  ed = splitPackage(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-ed25519')!.path));
}, 300_000);

const signPacket = (p: openpgp.SignaturePacket) =>
  p.sign.bind(p) as unknown as (key: unknown, data: unknown, date: Date, detached: boolean, config: unknown) => Promise<void>;

/** OpenPGP.js's salt notation has no length for SHA-1: off, so weak self-signatures can be made. */
const NO_SALT = { ...openpgp.config, nonDeterministicSignaturesViaNotation: false };

const b64u = (v: Uint8Array): string => Buffer.from(v).toString('base64url');

/** A v4 RSA (tag 268) signature packet over `data` by an OpenPGP.js RSA key, made at SIGN_DATE. */
function rsaSign(data: readonly Uint8Array[], k: openpgp.PrivateKey): Buffer {
  const pub = k.keyPacket.publicParams as unknown as { n: Uint8Array; e: Uint8Array };
  const priv = (k.keyPacket as unknown as { privateParams: { d: Uint8Array; p: Uint8Array; q: Uint8Array } }).privateParams;
  const big = (v: Uint8Array): bigint => BigInt(`0x${Buffer.from(v).toString('hex')}`);
  const toBytes = (v: bigint): Buffer => Buffer.from(v.toString(16).padStart(2 * Math.ceil(v.toString(16).length / 2), '0'), 'hex');
  const [d, p, q] = [big(priv.d), big(priv.p), big(priv.q)];
  const modInv = (a: bigint, m: bigint): bigint => {
    let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
    while (r1 !== 0n) { const t = r0 / r1; [r0, r1] = [r1, r0 - t * r1]; [s0, s1] = [s1, s0 - t * s1]; }
    return ((s0 % m) + m) % m;
  };
  const key = createPrivateKey({
    key: { kty: 'RSA', n: b64u(pub.n), e: b64u(pub.e), d: b64u(toBytes(d)), p: b64u(toBytes(p)), q: b64u(toBytes(q)),
      dp: b64u(toBytes(d % (p - 1n))), dq: b64u(toBytes(d % (q - 1n))), qi: b64u(toBytes(modInv(q, p))) },
    format: 'jwk',
  });
  const fpr = Buffer.from(k.getFingerprint(), 'hex');
  const hashed = encodeSubpackets([sub.issuerFingerprint(fpr), sub.created(SIGN_DATE)]);
  const unhashed = encodeSubpackets([sub.issuerKeyId(fpr.subarray(12))]);
  const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
  const hashedPart = Buffer.concat([Buffer.from([4, 0, 1, 8]), u16(hashed.length), hashed]);
  const trailer = Buffer.concat([Buffer.from([4, 0xff]), Buffer.from([0, 0, hashedPart.length >> 8, hashedPart.length & 0xff])]);
  const digest = createHash('sha256').update(Buffer.concat([...data, hashedPart, trailer])).digest();
  const s = nodeSign('sha256', Buffer.concat([...data, hashedPart, trailer]), key);
  let i = 0;
  while (s[i] === 0) i++;
  const v = s.subarray(i);
  const bits = (v.length - 1) * 8 + (32 - Math.clz32(v[0]!));
  return oldFormatPacket(Buffer.concat([hashedPart, u16(unhashed.length), unhashed, digest.subarray(0, 2), u16(bits), v]));
}

/** The test package re-signed by an RSA key, its signature moved to RSAHEADER (268). */
function rsaPackage(k: openpgp.PrivateKey): Buffer {
  return forgePackage(ed, undefined as never, {
    headerSig: (h) => rsaSign([h], k),
    sig: (entries) => entries.map((e) => (e.tag === 267 ? { ...e, tag: 268 } : e)).sort((a, b) => a.tag - b.tag),
  });
}

/** A new self-certification of the key's first user ID, with the given hash and settings. */
async function addSelfCertification(k: { key: openpgp.PrivateKey }, hash: openpgp.enums.hash, date: Date, edit: (s: openpgp.SignaturePacket) => void, replace = false): Promise<string> {
  const user = k.key.users[0]!;
  const s = new openpgp.SignaturePacket();
  s.signatureType = openpgp.enums.signature.certPositive;
  s.publicKeyAlgorithm = k.key.keyPacket.algorithm;
  s.hashAlgorithm = hash;
  s.keyFlags = Uint8Array.from([openpgp.enums.keyFlags.certifyKeys | openpgp.enums.keyFlags.signData]);
  edit(s);
  await signPacket(s)(k.key.keyPacket, { userID: user.userID, key: k.key.keyPacket }, date, false, NO_SALT);
  if (replace) user.selfCertifications = [s];
  else user.selfCertifications.push(s);
  return k.key.toPublic().armor();
}

const outcomeAt = async (bytes: Uint8Array, armored: string, now = NOW): Promise<string> => {
  let keyring;
  try {
    keyring = await loadKeyring([armored]);
  } catch (err) {
    return (err as { code?: string }).code ?? 'THROWN';
  }
  return codeOf(verifyBytes(bytes, keyring, undefined, now));
};

describe('the key state its owner set', () => {
  it('honours a key expiry set by a newer SHA-1 self-signature of an RSA key, as it does one over SHA-256 (and SHA-1 revocations), or refuses the key', async () => {
    for (const hash of [openpgp.enums.hash.sha256, openpgp.enums.hash.sha1]) {
      const { privateKey: k } = await openpgp.generateKey({ type: 'rsa', rsaBits: 2048, userIDs: [{ name: 'R' }], date: KEY_DATE, format: 'object' });
      const pkg = rsaPackage(k); // made at SIGN_DATE, a day after KEY_DATE
      expect(await outcomeAt(pkg, k.toPublic().armor())).toBe('ACCEPTED');
      // the owner shortens the key's life to one hour in a newer self-signature (gpg 2.2 can be told to use SHA-1)
      const armored = await addSelfCertification({ key: k }, hash, new Date(KEY_DATE.getTime() + 60_000), (s) => {
        s.keyExpirationTime = 3600;
      });
      expect([hash, await outcomeAt(pkg, armored)]).toEqual([hash, hash === openpgp.enums.hash.sha1 ? 'KEYRING_WEAK_KEY' : 'RPM_KEY_EXPIRED']);
    }
  });

  it('honours a newer self-signature of an RSA key that takes the signing flag away, over SHA-224 as over SHA-256, or refuses the key', async () => {
    for (const hash of [openpgp.enums.hash.sha256, openpgp.enums.hash.sha224]) {
      const { privateKey: k } = await openpgp.generateKey({ type: 'rsa', rsaBits: 2048, userIDs: [{ name: 'R' }], date: KEY_DATE, format: 'object' });
      const pkg = rsaPackage(k);
      const armored = await addSelfCertification({ key: k }, hash, new Date(KEY_DATE.getTime() + 60_000), (s) => {
        s.keyFlags = Uint8Array.from([openpgp.enums.keyFlags.certifyKeys]);
      });
      expect([hash, await outcomeAt(pkg, armored)]).toEqual([hash, hash === openpgp.enums.hash.sha224 ? 'KEYRING_WEAK_KEY' : 'RPM_KEY_INVALID']);
    }
  });

  it('refuses a signature by a key with a soft (superseded) revocation dated after the reference date, as it does for a hard one', async () => {
    const later = new Date(NOW.getTime() + 86_400_000);
    for (const flag of [openpgp.enums.reasonForRevocation.keyCompromised, openpgp.enums.reasonForRevocation.keySuperseded]) {
      const k = await generateEdKey();
      const pkg = forgePackage(ed, k.primary);
      const { publicKey } = await openpgp.revokeKey({ key: k.key, reasonForRevocation: { flag }, date: later, format: 'armored' });
      // README: "a valid revocation of the key counts whatever its date ... even with a now before the revocation was made"
      expect([flag, await outcomeAt(pkg, publicKey)]).toEqual([flag, 'RPM_KEY_REVOKED']);
    }
  });
  it('refuses a key whose direct-key signature uses SHA-1 (it may set an expiry too), and one whose direct-key signature names a designated revoker', async () => {
    const { privateKey: k } = await openpgp.generateKey({ type: 'rsa', rsaBits: 2048, userIDs: [{ name: 'R' }], date: KEY_DATE, format: 'object' });
    const direct = async (hash: openpgp.enums.hash, edit: (s: openpgp.SignaturePacket) => void): Promise<string> => {
      const s = new openpgp.SignaturePacket();
      s.signatureType = openpgp.enums.signature.key;
      s.publicKeyAlgorithm = k.keyPacket.algorithm;
      s.hashAlgorithm = hash;
      edit(s);
      await signPacket(s)(k.keyPacket, { key: k.keyPacket }, new Date(KEY_DATE.getTime() + 60_000), false, NO_SALT);
      const copy = await openpgp.readKey({ armoredKey: k.toPublic().armor() });
      (copy as unknown as { directSignatures: openpgp.SignaturePacket[] }).directSignatures.push(s);
      return copy.armor();
    };
    expect(await codeOf(loadKeyring([await direct(openpgp.enums.hash.sha256, (s) => { s.keyExpirationTime = 3600; })]))).toBe('ACCEPTED');
    const sha1 = await direct(openpgp.enums.hash.sha1, (s) => { s.keyExpirationTime = 3600; });
    await expect(loadKeyring([sha1])).rejects.toMatchObject({ code: 'KEYRING_WEAK_KEY', message: expect.stringContaining('a direct-key signature uses SHA1') as string });
    const other = await generateEdKey();
    const revoker = await direct(openpgp.enums.hash.sha256, (s) => {
      s.revocationKeyClass = 0x80;
      s.revocationKeyAlgorithm = openpgp.enums.publicKey.eddsaLegacy;
      s.revocationKeyFingerprint = other.primary.fingerprint;
    });
    expect(await codeOf(loadKeyring([revoker]))).toBe('KEYRING_UNSUPPORTED');
  });

  it('refuses a key with a SHA-1 subkey binding newer than its first SHA-256 one, even when a newer SHA-256 binding follows', async () => {
    const { privateKey: k } = await openpgp.generateKey({ type: 'rsa', rsaBits: 2048, userIDs: [{ name: 'R' }], date: KEY_DATE, format: 'object' });
    const subkey = k.subkeys[0]!;
    const bind = async (hash: openpgp.enums.hash, minutes: number): Promise<void> => {
      const s = new openpgp.SignaturePacket();
      s.signatureType = openpgp.enums.signature.subkeyBinding;
      s.publicKeyAlgorithm = k.keyPacket.algorithm;
      s.hashAlgorithm = hash;
      s.keyFlags = Uint8Array.from([openpgp.enums.keyFlags.encryptCommunication | openpgp.enums.keyFlags.encryptStorage]);
      s.keyExpirationTime = 3600;
      await signPacket(s)(k.keyPacket, { key: k.keyPacket, bind: subkey.keyPacket }, new Date(KEY_DATE.getTime() + minutes * 60_000), false, NO_SALT);
      subkey.bindingSignatures.push(s);
    };
    await bind(openpgp.enums.hash.sha1, 1);
    const expected = { code: 'KEYRING_WEAK_KEY', message: expect.stringContaining(`a binding signature of subkey ${subkey.getFingerprint()} newer than an accepted one uses SHA1`) as string };
    await expect(loadKeyring([k.toPublic().armor()])).rejects.toMatchObject(expected);
    // a signature made between the two would still fall back past the SHA-1 binding to the first
    await bind(openpgp.enums.hash.sha256, 2);
    await expect(loadKeyring([k.toPublic().armor()])).rejects.toMatchObject(expected);
  });

  it('refuses a signature by a subkey whose soft revocation is dated after the reference date', async () => {
    const k = await generateEdKey({ signingSubkey: true });
    const pkg = forgePackage(ed, subkeySigner(k.key, 1));
    expect(await outcomeAt(pkg, k.armoredPublic)).toBe('ACCEPTED');
    const later = new Date(NOW.getTime() + 86_400_000);
    const revoked = await k.key.subkeys[1]!.revoke(k.key.keyPacket as openpgp.SecretKeyPacket, { flag: openpgp.enums.reasonForRevocation.keyRetired }, later);
    const copy = await openpgp.readKey({ armoredKey: k.armoredPublic });
    copy.subkeys[1] = Object.assign(copy.subkeys[1]!, { revocationSignatures: revoked.revocationSignatures });
    expect(await outcomeAt(pkg, copy.armor())).toBe('RPM_KEY_REVOKED');
  });
});

describe('reasons that name the cause', () => {
  it('refuses a key that names a designated revoker when the keyring loads, not as revoked on each package', async () => {
    const k = await generateEdKey();
    const other = await generateEdKey();
    const pkg = forgePackage(ed, k.primary);
    const armored = await addSelfCertification(k, openpgp.enums.hash.sha256, new Date(KEY_DATE.getTime() + 60_000), (s) => {
      s.revocationKeyClass = 0x80;
      s.revocationKeyAlgorithm = openpgp.enums.publicKey.eddsaLegacy;
      s.revocationKeyFingerprint = other.primary.fingerprint;
    }, true);
    expect(await outcomeAt(pkg, armored)).toBe('KEYRING_UNSUPPORTED');
    await expect(loadKeyring([armored])).rejects.toThrow('names a designated revoker');
  });

  it('calls a key whose only user ID is revoked invalid, saying so, not revoked', async () => {
    const k = await generateEdKey();
    const pkg = forgePackage(ed, k.primary);
    const user = k.key.users[0]!;
    const r = new openpgp.SignaturePacket();
    r.signatureType = openpgp.enums.signature.certRevocation;
    r.publicKeyAlgorithm = k.key.keyPacket.algorithm;
    r.hashAlgorithm = openpgp.enums.hash.sha256;
    r.reasonForRevocationFlag = openpgp.enums.reasonForRevocation.userIDInvalid;
    r.reasonForRevocationString = '';
    await signPacket(r)(k.key.keyPacket, { userID: user.userID, key: k.key.keyPacket }, new Date(KEY_DATE.getTime() + 60_000), false, openpgp.config);
    user.revocationSignatures.push(r);
    const keyring = await loadKeyring([k.key.toPublic().armor()]);
    await expect(verifyBytes(pkg, keyring)).rejects.toMatchObject({ code: 'RPM_KEY_INVALID', message: expect.stringContaining('no user ID of it is valid (a user ID is revoked)') as string });
  });

  it('names a revocation-key subpacket inside a package signature as a blob problem, not a signature that does not verify', async () => {
    const k = await generateEdKey();
    const body = Buffer.concat([Buffer.from([0x80, 22]), Buffer.from(k.primary.fingerprint)]);
    const pkg = forgePackage(ed, k.primary, {
      headerSig: (h) => rawSign([h], k.primary, { hashed: [sub.issuerFingerprint(k.primary.fingerprint), sub.created(SIGN_DATE), { type: 12, body }] }),
    });
    expect(await outcomeAt(pkg, k.armoredPublic)).toBe('RPM_SIG_BLOB_BAD');
  });
  it('calls a key whose self-signature sets no key flags invalid, in its own words (not OpenPGP.js advice)', async () => {
    const k = await generateEdKey();
    const pkg = forgePackage(ed, k.primary);
    const armored = await addSelfCertification(k, openpgp.enums.hash.sha256, new Date(KEY_DATE.getTime() + 60_000), (s) => {
      s.keyFlags = null;
    }, true);
    const keyring = await loadKeyring([armored]);
    const failure = verifyBytes(pkg, keyring);
    await expect(failure).rejects.toMatchObject({ code: 'RPM_KEY_INVALID', message: expect.stringContaining('its self-signature sets no key flags, so nothing says it may sign') as string });
    await expect(verifyBytes(pkg, keyring)).rejects.not.toThrow('allowMissingKeyFlags');
  });
});

describe('reasons that name the cause, when the key changed after it signed', () => {
  it('accepts a package signed before every self-signature of its key (gpg replaces it when the expiry is extended), judging the key at the reference date as rpm-sequoia does', async () => {
    const k = await generateEdKey();
    const pkg = forgePackage(ed, k.primary); // made at SIGN_DATE
    expect(await outcomeAt(pkg, k.armoredPublic)).toBe('ACCEPTED');
    // the owner extends the key's life to ten years a day after it signed; the old self-signature is gone
    const armored = await addSelfCertification(k, openpgp.enums.hash.sha256, new Date(SIGN_DATE.getTime() + 86_400_000), (s) => {
      s.keyExpirationTime = 10 * 365 * 86_400;
    }, true);
    expect(await outcomeAt(pkg, armored)).toBe('ACCEPTED');
    // a reference date before that self-signature was made leaves nothing to judge the key by
    await expect(verifyBytes(pkg, await loadKeyring([armored]), undefined, new Date(SIGN_DATE.getTime() + 3_600_000))).rejects.toMatchObject({
      code: 'RPM_KEY_INVALID',
      message: expect.stringContaining('(every self-signature of the key over an accepted hash is newer than the signature) nor at the reference date 2024-01-02T01:00:00.000Z: no self-signature of the key is that old') as string,
    });
  });

  it('accepts a package signed between an old SHA-1 self-signature of its key and a newer SHA-256 one, whatever their order in the key', async () => {
    // an RSA key re-signed over SHA-256 after it signed, its SHA-1 self-signature kept beside the new one
    const { privateKey: k } = await openpgp.generateKey({ type: 'rsa', rsaBits: 2048, userIDs: [{ name: 'R' }], date: KEY_DATE, format: 'object' });
    const pkg = rsaPackage(k); // made at SIGN_DATE
    await addSelfCertification({ key: k }, openpgp.enums.hash.sha1, new Date(KEY_DATE.getTime() + 60_000), () => undefined, true);
    const oldFirst = await addSelfCertification({ key: k }, openpgp.enums.hash.sha256, new Date(SIGN_DATE.getTime() + 86_400_000), () => undefined);
    k.users[0]!.selfCertifications.reverse();
    const newFirst = k.toPublic().armor();
    expect([await outcomeAt(pkg, oldFirst), await outcomeAt(pkg, newFirst)]).toEqual(['ACCEPTED', 'ACCEPTED']);
    // the SHA-1 one does not count: a reference date before the SHA-256 one leaves nothing to judge the key by, in either order
    const early = new Date(SIGN_DATE.getTime() + 3_600_000);
    for (const armored of [oldFirst, newFirst]) {
      await expect(verifyBytes(pkg, await loadKeyring([armored]), undefined, early)).rejects.toMatchObject({
        code: 'RPM_KEY_INVALID',
        message: expect.stringContaining('(every self-signature of the key over an accepted hash is newer than the signature) nor at the reference date') as string,
      });
    }
  });

  describe('a direct-key signature that sets key flags', () => {
    const withDirect = async (k: { key: openpgp.PrivateKey }, ...signatures: { flags: number | undefined; date: Date; over?: openpgp.PrivateKey }[]): Promise<string> => {
      const copy = await openpgp.readKey({ armoredKey: k.key.armor() });
      for (const { flags, date, over } of signatures) {
        const d = new openpgp.SignaturePacket();
        d.signatureType = openpgp.enums.signature.key;
        d.publicKeyAlgorithm = k.key.keyPacket.algorithm;
        d.hashAlgorithm = openpgp.enums.hash.sha256;
        if (flags !== undefined) d.keyFlags = Uint8Array.from([flags]);
        // `over`: a signature made over another key's packet, which does not verify over this one
        const target = (over ?? k.key).keyPacket;
        await signPacket(d)(k.key.keyPacket, { key: target }, date, false, NO_SALT);
        (copy as unknown as { directSignatures: openpgp.SignaturePacket[] }).directSignatures.push(d);
      }
      return copy.toPublic().armor();
    };
    const { certifyKeys, signData } = openpgp.enums.keyFlags;
    const before = new Date(KEY_DATE.getTime() + 60_000); // the package is signed at SIGN_DATE, a day after KEY_DATE
    const after = new Date(SIGN_DATE.getTime() + 86_400_000);

    it('refuses a package its primary key signed after the newest one withdrew signing (certify only, or no usage), as gpg does', async () => {
      const k = await generateEdKey();
      const pkg = forgePackage(ed, k.primary);
      for (const flags of [certifyKeys, 0]) {
        const keyring = await loadKeyring([await withDirect(k, { flags, date: before })]);
        await expect(verifyBytes(pkg, keyring, undefined, NOW)).rejects.toMatchObject({
          code: 'RPM_KEY_INVALID',
          message: expect.stringContaining(`its direct-key signature of ${before.toISOString()} withdraws its right to sign (key flags 0x0${String(flags)})`) as string,
        });
      }
    });

    it('accepts one whose newest direct-key signature allows signing, says nothing on usage, came after the package, or does not verify', async () => {
      const k = await generateEdKey();
      const pkg = forgePackage(ed, k.primary);
      const other = await generateEdKey();
      const later = new Date(before.getTime() + 60_000);
      const cases: [string, { flags: number | undefined; date: Date; over?: openpgp.PrivateKey }[]][] = [
        ['certify and sign', [{ flags: certifyKeys | signData, date: before }]],
        ['signing restored by a newer one', [{ flags: certifyKeys, date: before }, { flags: certifyKeys | signData, date: later }]],
        ['no key flags in the newest', [{ flags: certifyKeys, date: before }, { flags: undefined, date: later }]],
        ['withdrawn after the package was signed', [{ flags: certifyKeys, date: after }]],
        ['a withdrawal that does not verify', [{ flags: certifyKeys, date: before, over: other.key }]],
      ];
      for (const [what, signatures] of cases) expect([what, await outcomeAt(pkg, await withDirect(k, ...signatures))]).toEqual([what, 'ACCEPTED']);
      // and the order the signatures come in does not decide which is newest
      const order = await withDirect(k, { flags: certifyKeys | signData, date: later }, { flags: certifyKeys, date: before });
      expect(await outcomeAt(pkg, order)).toBe('ACCEPTED');
      const reversed = await withDirect(k, { flags: certifyKeys | signData, date: before }, { flags: certifyKeys, date: later });
      expect(await outcomeAt(pkg, reversed)).toBe('RPM_KEY_INVALID');
    });

    it('still accepts what a signing subkey signed (the flags are the primary key\'s)', async () => {
      const k = await generateEdKey({ signingSubkey: true });
      const pkg = forgePackage(ed, subkeySigner(k.key, 1));
      expect(await outcomeAt(pkg, await withDirect(k, { flags: certifyKeys, date: before }))).toBe('ACCEPTED');
    });
  });

  it('accepts a package signed before every user ID self-signature of its key although an older direct-key signature exists (which does not make a v4 key valid)', async () => {
    const k = await generateEdKey();
    const pkg = forgePackage(ed, k.primary); // made at SIGN_DATE
    const d = new openpgp.SignaturePacket();
    d.signatureType = openpgp.enums.signature.key;
    d.publicKeyAlgorithm = k.key.keyPacket.algorithm;
    d.hashAlgorithm = openpgp.enums.hash.sha256;
    await signPacket(d)(k.key.keyPacket, { key: k.key.keyPacket }, new Date(KEY_DATE.getTime() + 60_000), false, NO_SALT);
    (k.key as unknown as { directSignatures: openpgp.SignaturePacket[] }).directSignatures.push(d);
    // the user ID's self-signature renewed a day after the package was signed, the old one gone
    const armored = await addSelfCertification(k, openpgp.enums.hash.sha256, new Date(SIGN_DATE.getTime() + 86_400_000), () => undefined, true);
    expect(await outcomeAt(pkg, armored)).toBe('ACCEPTED');
  });

  it('refuses a package signed by a subkey whose only binding as old as the signature is over SHA-1, whatever the order of its bindings', async () => {
    const { privateKey: k } = await openpgp.generateKey({ type: 'rsa', rsaBits: 2048, userIDs: [{ name: 'R' }], date: KEY_DATE, subkeys: [{ sign: true }], format: 'object' });
    const subkey = k.subkeys[0]!;
    const pkg = rsaPackage(subkey as unknown as openpgp.PrivateKey); // made at SIGN_DATE by the subkey
    expect(await outcomeAt(pkg, k.toPublic().armor())).toBe('ACCEPTED');
    const [original] = subkey.bindingSignatures;
    const bind = async (hash: openpgp.enums.hash, date: Date): Promise<openpgp.SignaturePacket> => {
      const s = new openpgp.SignaturePacket();
      s.signatureType = openpgp.enums.signature.subkeyBinding;
      s.publicKeyAlgorithm = k.keyPacket.algorithm;
      s.hashAlgorithm = hash;
      s.keyFlags = Uint8Array.from([openpgp.enums.keyFlags.signData]);
      s.embeddedSignature = original!.embeddedSignature; // the subkey's back-signature covers the keys, not the binding
      await signPacket(s)(k.keyPacket, { key: k.keyPacket, bind: subkey.keyPacket }, date, false, NO_SALT);
      return s;
    };
    const weak = await bind(openpgp.enums.hash.sha1, new Date(KEY_DATE.getTime() + 60_000));
    const strong = await bind(openpgp.enums.hash.sha256, new Date(SIGN_DATE.getTime() + 86_400_000));
    for (const order of [[weak, strong], [strong, weak]]) {
      subkey.bindingSignatures = order;
      await expect(verifyBytes(pkg, await loadKeyring([k.toPublic().armor()]))).rejects.toMatchObject({
        code: 'RPM_KEY_INVALID',
        message: expect.stringContaining('every binding of the subkey over an accepted hash is newer than the signature') as string,
      });
    }
  });

  it('refuses a package signed before every self-signature of its key when, by them, the key is expired at the reference date', async () => {
    const k = await generateEdKey();
    const pkg = forgePackage(ed, k.primary);
    // made after the signature, the only self-signature gives the key a life of 30 days (to 2024-01-31)
    const armored = await addSelfCertification(k, openpgp.enums.hash.sha256, new Date(SIGN_DATE.getTime() + 86_400_000), (s) => {
      s.keyExpirationTime = 30 * 86_400;
    }, true);
    await expect(verifyBytes(pkg, await loadKeyring([armored]))).rejects.toMatchObject({
      code: 'RPM_KEY_EXPIRED',
      message: expect.stringContaining('every self-signature of the key over an accepted hash is newer than the signature, and by them the key is expired at the reference date 2025-06-01T00:00:00.000Z') as string,
    });
    // before the 30 days were up, the same key and package pass
    expect(await outcomeAt(pkg, armored, new Date('2024-01-20T00:00:00Z'))).toBe('ACCEPTED');
  });

  it('refuses a package signed before every self-signature of its key when, by them, the key may not sign', async () => {
    const k = await generateEdKey();
    const pkg = forgePackage(ed, k.primary);
    const armored = await addSelfCertification(k, openpgp.enums.hash.sha256, new Date(SIGN_DATE.getTime() + 86_400_000), (s) => {
      s.keyFlags = Uint8Array.from([openpgp.enums.keyFlags.certifyKeys]);
    }, true);
    await expect(verifyBytes(pkg, await loadKeyring([armored]))).rejects.toMatchObject({
      code: 'RPM_KEY_INVALID',
      message: expect.stringContaining('(every self-signature of the key over an accepted hash is newer than the signature) nor at the reference date 2025-06-01T00:00:00.000Z: its newest valid self-signature does not let it sign') as string,
    });
  });

  it('refuses a package signed by a subkey bound only after it signed, while the primary was valid then, as rpm-sequoia does', async () => {
    const k = await generateEdKey({ signingSubkey: true });
    const pkg = forgePackage(ed, subkeySigner(k.key, 1)); // made at SIGN_DATE
    expect(await outcomeAt(pkg, k.armoredPublic)).toBe('ACCEPTED');
    // the subkey's binding made again a day after the signature (as gpg does when it extends a subkey's expiry); the primary's stays
    const { privateKey: rebound } = await openpgp.reformatKey({
      privateKey: k.key, userIDs: [{ name: 'Test', email: 'test@example.invalid' }], date: new Date(SIGN_DATE.getTime() + 86_400_000),
      format: 'object',
    });
    k.key.subkeys[1]!.bindingSignatures = rebound.subkeys[1]!.bindingSignatures;
    await expect(verifyBytes(pkg, await loadKeyring([k.key.toPublic().armor()]))).rejects.toMatchObject({
      code: 'RPM_KEY_INVALID',
      message: expect.stringContaining('cannot sign at 2024-01-02T00:00:00.000Z: every binding of the subkey over an accepted hash is newer than the signature, so nothing bound it to the key when it signed') as string,
    });
    // with the primary's self-signature renewed too, the key is judged at the reference date and passes
    await expect(verifyBytes(pkg, await loadKeyring([rebound.toPublic().armor()]))).resolves.toMatchObject({ signer: { fingerprint: k.key.getFingerprint() } });
  });

  it('refuses a package signed before every self-signature of a key that is now revoked, as revoked', async () => {
    const k = await generateEdKey();
    const pkg = forgePackage(ed, k.primary);
    await addSelfCertification(k, openpgp.enums.hash.sha256, new Date(SIGN_DATE.getTime() + 86_400_000), () => undefined, true);
    const { publicKey: revoked } = await openpgp.revokeKey({ key: k.key, date: new Date(SIGN_DATE.getTime() + 2 * 86_400_000), format: 'armored' });
    expect(await outcomeAt(pkg, revoked)).toBe('RPM_KEY_REVOKED');
  });

  it('says that the newest self-signature does not let the key sign, for a key made certify-only after it signed', async () => {
    const k = await generateEdKey();
    const pkg = forgePackage(ed, k.primary);
    const armored = await addSelfCertification(k, openpgp.enums.hash.sha256, new Date(KEY_DATE.getTime() + 60_000), (s) => {
      s.keyFlags = Uint8Array.from([openpgp.enums.keyFlags.certifyKeys]);
    });
    await expect(verifyBytes(pkg, await loadKeyring([armored]))).rejects.toMatchObject({
      code: 'RPM_KEY_INVALID',
      message: expect.stringMatching(/cannot sign at 2024-01-02T00:00:00\.000Z: its newest valid self-signature does not let it sign$/) as unknown,
    });
  });
});

describe('pinned key files rpm 4.18 cannot import', () => {
  it('refuses a v6 RSA key (rpm 4.18 cannot import v6 keys; a v4 signature by it would pass here only)', async () => {
    const v6 = await openpgp.generateKey({ type: 'rsa', rsaBits: 2048, userIDs: [{ name: 'v6' }], date: KEY_DATE, format: 'armored', config: { v6Keys: true } });
    expect(await codeOf(loadKeyring([v6.publicKey]))).toBe('KEYRING_UNSUPPORTED');
    await expect(loadKeyring([v6.publicKey])).rejects.toThrow('a v6 key; rpm 4.18 reads v4 keys only');
  });

  it('refuses a v6 Ed25519 key as a v6 key, not for its algorithm, and a v6 key of an algorithm OpenPGP.js cannot read (ML-DSA) as a v6 key too', async () => {
    const v6 = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'v6' }], date: KEY_DATE, format: 'object', config: { v6Keys: true } });
    await expect(loadKeyring([v6.publicKey.armor()])).rejects.toMatchObject({ code: 'KEYRING_UNSUPPORTED', message: expect.stringContaining('a v6 key; rpm 4.18 reads v4 keys only') as unknown });
    // the primary key's algorithm byte (after version and creation time) made one OpenPGP.js does not know
    const bytes = v6.publicKey.toPacketList().write();
    const headerLength = bytes[1]! < 192 ? 2 : 3;
    expect(bytes[headerLength]).toBe(6);
    bytes[headerLength + 5] = 107;
    const unknown = openpgp.armor(openpgp.enums.armor.publicKey, bytes, undefined, undefined, undefined, true);
    await expect(loadKeyring([unknown], ['pqc.asc'])).rejects.toMatchObject({
      code: 'KEYRING_UNSUPPORTED',
      message: expect.stringContaining('key file pqc.asc: armored block 1 holds a v6 key; rpm 4.18 reads v4 keys only') as unknown,
    });
  });

  it('refuses an armored key whose CRC-24 line is wrong, or whose body holds characters outside base64', async () => {
    const k = await generateEdKey();
    const armored = k.key.toPublic().armor().replace(/\r/g, '');
    const lines = armored.split('\n');
    const crcAt = lines.findIndex((l) => /^=[A-Za-z0-9+/]{4}$/.test(l));
    if (crcAt >= 0) {
      const crc = Buffer.from(lines[crcAt]!.slice(1), 'base64');
      crc[2] = crc[2]! ^ 1;
      const wrong = [...lines];
      wrong[crcAt] = `=${crc.toString('base64')}`;
      expect(await codeOf(loadKeyring([wrong.join('\n')]))).toBe('KEYRING_PARSE');
    } else {
      // OpenPGP.js 6 writes no CRC line for this key; splice a wrong one in before the end line
      const end = lines.findIndex((l) => l.startsWith('-----END'));
      const wrong = [...lines.slice(0, end), '=AAAA', ...lines.slice(end)];
      expect(await codeOf(loadKeyring([wrong.join('\n')]))).toBe('KEYRING_PARSE');
    }
    const bodyLine = lines.findIndex((l, i) => i > 1 && /^[A-Za-z0-9+/]{20,}$/.test(l));
    const junk = [...lines];
    junk[bodyLine] = `${junk[bodyLine]!}!!`;
    expect(await codeOf(loadKeyring([junk.join('\n')]))).toBe('KEYRING_PARSE');
  });

  it('takes CRLF line ends and rpm\'s armor headers (Comment, Version, MessageID, Hash, Charset)', async () => {
    const k = await generateEdKey();
    const lines = k.key.toPublic().armor().replace(/\r/g, '').split('\n');
    expect(await codeOf(loadKeyring([lines.join('\r\n')]))).toBe('ACCEPTED');
    for (const header of ['Comment: pinned for the test', 'Version: GnuPG v2', 'MessageID: x', 'Hash: SHA256', 'Charset: UTF-8']) {
      expect([header, await codeOf(loadKeyring([[lines[0]!, header, ...lines.slice(1)].join('\n')]))]).toEqual([header, 'ACCEPTED']);
    }
  });

  it('refuses what rpm 4.18 refuses to import: no CRC line, another header, a header without a value, a trailing blank, text before the end line', async () => {
    const k = await generateEdKey();
    const lines = k.key.toPublic().armor().replace(/\r/g, '').split('\n');
    const end = lines.findIndex((l) => l.startsWith('-----END'));
    const variants: [string, string[]][] = [
      ['no CRC line', lines.filter((l) => !/^=[A-Za-z0-9+/]{4}$/.test(l))],
      ['another header', [lines[0]!, 'Foo: bar', ...lines.slice(1)]],
      ['a header without a value', [lines[0]!, 'Comment:', ...lines.slice(1)]],
      ['a trailing blank', lines.map((l, i) => (i === 2 ? `${l} ` : l))],
      ['text before the end line', lines.map((l, i) => (i === end ? `AAAA${l}` : l))],
    ];
    for (const [what, variant] of variants) {
      expect([what, await codeOf(loadKeyring([variant.join('\n')]))]).toEqual([what, 'KEYRING_PARSE']);
    }
  });

  it('refuses armor rpm 4.18 refuses (padding inside the body, no empty line after the header, text after the begin line) and a blank inside a line (rpm skips it; a key file is no place for one)', async () => {
    const k = await generateEdKey();
    const lines = k.key.toPublic().armor().replace(/\r/g, '').split('\n');
    const body = lines.findIndex((l, i) => i > 1 && /^[A-Za-z0-9+/]{20,}$/.test(l));
    const variants: [string, string[]][] = [
      ['padding inside the body', lines.map((l, i) => (i === body ? `${l.slice(0, -4)}AA==` : l))],
      ['no empty line after the header', lines.filter((l, i) => !(i === 1 && l === ''))],
      ['text after the begin line', lines.map((l, i) => (i === 0 ? `${l} x` : l))],
      ['a blank inside a line', lines.map((l, i) => (i === body ? `${l.slice(0, 10)} ${l.slice(10)}` : l))],
    ];
    for (const [what, variant] of variants) {
      expect([what, await codeOf(loadKeyring([variant.join('\n')]))]).toEqual([what, 'KEYRING_PARSE']);
    }
  });
});
