import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rpmkeysCheck } from '@dom0-updates/fixtures';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring, pinnedKeyIds } from '../src/pgp/keyring.ts';
import { fixtures } from './support/fixtures.ts';
import { edSigner, forgePackage, rawSign, sub } from './support/forge.ts';
import { binaryOf, packets, rearmor, type KeyPacket } from './support/key-packets.ts';
import { splitPackage } from './support/package-bytes.ts';
import { codeOf, verifyBytes } from './support/verify-bytes.ts';

// rpm 4.18 reads only the signature right after a subkey as its binding, and leaves the subkey out
// of its keyring unless that one lets it sign; OpenPGP.js goes by the newest valid binding. A
// package signed by such a subkey must be refused here, as dom0's dnf (rpm) would refuse it.

const scratch = mkdtempSync(join(tmpdir(), 'subkey-rpm-keyring-'));
const gnupgHome = join(scratch, 'gnupg');
const gpgEnv = { ...process.env, GNUPGHOME: gnupgHome, LC_ALL: 'C' };
const BATCH = ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', ''];

function gpg(args: readonly string[], input?: string): string {
  const result = spawnSync('gpg', [...BATCH, ...args], { env: gpgEnv, encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  if (result.status !== 0) throw new Error(`gpg ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

let authFirst: string; // the subkey's first binding (auth only), then a newer one (sign)
let signOnly: string; // the newer binding alone
let noBackSignature: string; // a binding that lets the subkey sign, without the subkey's back-signature
let signed: Uint8Array; // a package signed by the subkey after it could sign
let subkeyId: string;

beforeAll(async () => {
  spawnSync('mkdir', ['-m', '700', gnupgHome]);
  const at = (time: string): string[] => ['--faked-system-time', `${time}!`];
  gpg([...at('20231201T000000'), '--quick-generate-key', 'Sub <sub@example.invalid>', 'ed25519', 'cert', 'never']);
  const fingerprint = gpg(['--with-colons', '--list-keys', 'Sub']).split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9] ?? '';
  gpg([...at('20231201T000100'), '--quick-add-key', fingerprint, 'ed25519', 'auth', 'never']);
  const exported = await binaryOf(gpg(['--armor', '--export', fingerprint]));
  const list = packets(exported);
  expect(list.map((p) => p.tag)).toEqual([6, 13, 2, 14, 2]);
  const [primaryPacket, , , subkeyPacket, authBinding] = list as [KeyPacket, KeyPacket, KeyPacket, KeyPacket, KeyPacket];

  // a newer binding that lets the subkey sign, with its back-signature, as gpg would make it
  const secret = await openpgp.readPrivateKey({ armoredKey: gpg(['--armor', '--export-secret-keys', fingerprint]) });
  const [primary, subkey] = [edSigner(secret.keyPacket), edSigner(secret.subkeys[0]!.keyPacket)];
  const hashed = (p: KeyPacket): Uint8Array => {
    const body = exported.subarray(p.bodyStart, p.end);
    return new Uint8Array([0x99, body.length >> 8, body.length & 0xff, ...body]);
  };
  const keys = [hashed(primaryPacket), hashed(subkeyPacket)];
  const later = new Date('2023-12-15T00:00:00Z');
  const backSignature = rawSign(keys, subkey, { type: 0x19, created: later }).subarray(2);
  const binding = rawSign(keys, primary, {
    type: 0x18,
    hashed: [sub.created(later), { type: 27, body: Uint8Array.of(0x02) }, sub.issuerFingerprint(primary.fingerprint), { type: 32, body: backSignature }],
  });
  const withoutBackSignature = rawSign(keys, primary, {
    type: 0x18,
    hashed: [sub.created(later), { type: 27, body: Uint8Array.of(0x02) }, sub.issuerFingerprint(primary.fingerprint)],
  });
  authFirst = rearmor(new Uint8Array([...exported, ...binding]));
  signOnly = rearmor(new Uint8Array([...exported.subarray(0, authBinding.start), ...binding]));
  noBackSignature = rearmor(new Uint8Array([...exported.subarray(0, authBinding.start), ...withoutBackSignature]));

  subkeyId = secret.subkeys[0]!.getKeyID().toHex();
  const fx = await fixtures();
  const ed = splitPackage(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-ed25519')!.path));
  signed = forgePackage(ed, subkey);
}, 300_000);

afterAll(() => {
  spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: gpgEnv });
  rmSync(scratch, { recursive: true, force: true });
});

async function rpmAcceptsWith(armored: string, name: string): Promise<boolean> {
  const keyFile = join(scratch, `${name}.asc`);
  const packageFile = join(scratch, `${name}.rpm`);
  writeFileSync(keyFile, armored);
  writeFileSync(packageFile, signed);
  return (await rpmkeysCheck(packageFile, [keyFile])).ok;
}

describe('a subkey rpm 4.18 leaves out of its keyring', () => {
  it('accepts a package signed by a subkey whose only binding lets it sign, as rpm does', async () => {
    expect(await rpmAcceptsWith(signOnly, 'sign-only')).toBe(true);
    expect(await codeOf(verifyBytes(signed, await loadKeyring([signOnly])))).toBe('ACCEPTED');
    expect([...(await pinnedKeyIds(await loadKeyring([signOnly])))]).toContain(subkeyId);
  });

  it('refuses a package signed by a subkey whose first binding does not let it sign, though a newer one does, as rpm does', async () => {
    expect(await rpmAcceptsWith(authFirst, 'auth-first')).toBe(false);
    const keyring = await loadKeyring([authFirst]);
    await expect(verifyBytes(signed, keyring)).rejects.toMatchObject({
      code: 'RPM_KEY_INVALID',
      message: expect.stringContaining('rpm 4.18 would not verify with it: the binding signature right after it (the only one rpm reads) does not set the signing flag') as unknown,
    });
    // dom0-update's cache check names what such a subkey signed as signed by an unpinned key
    expect([...(await pinnedKeyIds(keyring))]).not.toContain(subkeyId);
  });

  it('refuses, naming it, a package signed by a subkey whose binding has no back-signature, which rpm 4.18 takes (it never reads one)', async () => {
    expect(await rpmAcceptsWith(noBackSignature, 'no-back-signature')).toBe(true);
    await expect(verifyBytes(signed, await loadKeyring([noBackSignature]))).rejects.toMatchObject({
      code: 'RPM_KEY_INVALID',
      message: expect.stringContaining("the subkey's binding has no back-signature") as unknown,
    });
  });
});
