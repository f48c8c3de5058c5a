import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/pgp/keyring.ts';
import { codeOf } from './support/verify-bytes.ts';

// Differential against the real `rpmkeys --import` (rpm 4.18 on Debian 12): a key file the
// receiver takes must import into rpm, or dom0's dnf refuses every package published under it.

const scratch = mkdtempSync(join(tmpdir(), 'rpm-key-import-'));
let files = 0;

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function rpmImports(armored: string): boolean {
  files += 1;
  const file = join(scratch, `key-${files}.asc`);
  const db = join(scratch, `db-${files}`);
  writeFileSync(file, armored);
  return run('rpmkeys', ['--dbpath', db, '--import', file]).status === 0;
}

async function ours(armored: string): Promise<string> {
  return codeOf(loadKeyring([armored]));
}

const gnupgHome = join(scratch, 'gnupg');
const gpgEnv = { ...process.env, GNUPGHOME: gnupgHome, LC_ALL: 'C' };
const BATCH = ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', ''];

function gpg(...args: string[]): string {
  const result = run('gpg', [...BATCH, ...args], gpgEnv);
  if (result.status !== 0) throw new Error(`gpg ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function subkeyFingerprints(fingerprint: string): string[] {
  return gpg('--with-colons', '--with-subkey-fingerprints', '--list-keys', fingerprint)
    .split('\n')
    .filter((line) => line.startsWith('fpr:'))
    .map((line) => line.split(':')[9] ?? '')
    .slice(1);
}

/** A gpg key that certifies only, with two signing subkeys; the second one revoked when asked. */
function gpgKeyWithSubkeys(name: string, revokeSecond: boolean): { fingerprint: string; armored: string } {
  gpg('--quick-generate-key', `${name} <${name}@example.invalid>`, 'ed25519', 'cert', 'never');
  const fingerprint = gpg('--with-colons', '--list-keys', name).split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9] ?? '';
  gpg('--quick-add-key', fingerprint, 'ed25519', 'sign', 'never');
  gpg('--quick-add-key', fingerprint, 'ed25519', 'sign', 'never');
  if (revokeSecond) {
    const result = spawnSync('gpg', [...BATCH, '--command-fd', '0', '--edit-key', fingerprint], {
      env: gpgEnv,
      input: 'key 2\nrevkey\ny\n0\n\ny\nsave\n',
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`gpg revkey: ${result.stderr}`);
  }
  return { fingerprint, armored: gpg('--armor', '--export', fingerprint) };
}

async function binaryOf(armored: string): Promise<Uint8Array> {
  return (await openpgp.unarmor(armored)).data as Uint8Array;
}

function rearmor(bytes: Uint8Array): string {
  return openpgp.armor(openpgp.enums.armor.publicKey, bytes, undefined, undefined, undefined, true);
}

/** Packet boundaries of a key that gpg exported (old-format headers, new-format ones from OpenPGP.js). */
function packets(bytes: Uint8Array): { tag: number; start: number; bodyStart: number; end: number }[] {
  const out = [];
  let at = 0;
  while (at < bytes.length) {
    const first = bytes[at]!;
    let tag: number;
    let lengthBytes: number;
    let length = 0;
    if ((first & 0x40) === 0) {
      tag = (first >> 2) & 0x0f;
      lengthBytes = 1 << (first & 0x03);
      for (let i = 1; i <= lengthBytes; i += 1) length = length * 256 + bytes[at + i]!;
    } else {
      tag = first & 0x3f;
      const octet = bytes[at + 1]!;
      lengthBytes = octet < 192 ? 1 : octet < 224 ? 2 : 5;
      length = octet < 192 ? octet : octet < 224 ? ((octet - 192) << 8) + bytes[at + 2]! + 192 : new DataView(bytes.buffer, bytes.byteOffset + at + 2, 4).getUint32(0);
    }
    const bodyStart = at + 1 + lengthBytes;
    out.push({ tag, start: at, bodyStart, end: bodyStart + length });
    at = bodyStart + length;
  }
  return out;
}

let plain: { fingerprint: string; armored: string };
let revoked: { fingerprint: string; armored: string };

beforeAll(() => {
  run('mkdir', ['-m', '700', gnupgHome]);
  plain = gpgKeyWithSubkeys('plain', false);
  revoked = gpgKeyWithSubkeys('revoked', true);
});

afterAll(() => {
  run('gpgconf', ['--kill', 'gpg-agent'], gpgEnv);
  rmSync(scratch, { recursive: true, force: true });
});

describe('a pinned key rpm 4.18 cannot import', () => {
  it('accepts a gpg key with signing subkeys, as rpm does', async () => {
    expect(rpmImports(plain.armored)).toBe(true);
    expect(await ours(plain.armored)).toBe('ACCEPTED');
  });

  it('refuses a gpg key with a revoked subkey (gpg exports the revocation before the binding), as rpm does, saying so', async () => {
    expect(rpmImports(revoked.armored)).toBe(false);
    await expect(loadKeyring([revoked.armored], ['revoked.asc'])).rejects.toMatchObject({
      code: 'KEYRING_PARSE',
      message: expect.stringMatching(/^KEYRING_PARSE: key file revoked\.asc, armored block 1: rpm 4\.18 would refuse to import it: .*not followed directly by its binding signature but by its revocation/) as unknown,
    });
  });

  it('accepts that key once the revoked subkey is left out of the export, as rpm does', async () => {
    const [, revokedSubkey] = subkeyFingerprints(revoked.fingerprint);
    const bytes = await binaryOf(revoked.armored);
    const list = packets(bytes);
    // the revoked subkey and the signatures that follow it, up to the next subkey or the end
    const from = list.findIndex((p) => p.tag === 14 && list.indexOf(p) > list.findIndex((q) => q.tag === 14));
    let to = from + 1;
    while (to < list.length && list[to]!.tag === 2) to += 1;
    expect(revokedSubkey).toBeDefined();
    const kept = new Uint8Array([...bytes.subarray(0, list[from]!.start), ...bytes.subarray(to < list.length ? list[to]!.start : bytes.length)]);
    const armored = rearmor(kept);
    expect(rpmImports(armored)).toBe(true);
    expect(await ours(armored)).toBe('ACCEPTED');
  });

  it('refuses what rpm refuses among OpenPGP.js keys: a signing subkey (critical back-signature), a revocation (critical reason)', async () => {
    const signing = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'S' }], subkeys: [{ sign: true }], format: 'object' });
    const encryptOnly = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'E' }], format: 'object' });
    const revokedKey = (await openpgp.revokeKey({ key: encryptOnly.privateKey, format: 'object' })).publicKey;
    const cases: [string, string][] = [
      ['signing subkey', signing.publicKey.armor()],
      ['encryption subkey only', encryptOnly.publicKey.armor()],
      ['revoked', revokedKey.armor()],
    ];
    const verdicts = [];
    for (const [what, armored] of cases) verdicts.push([what, rpmImports(armored), await ours(armored)]);
    expect(verdicts).toEqual([
      ['signing subkey', false, 'KEYRING_PARSE'],
      ['encryption subkey only', true, 'ACCEPTED'],
      ['revoked', false, 'KEYRING_PARSE'],
    ]);
  });

  it('never accepts a key rpm refuses: mutations of a gpg key, each checked against rpmkeys --import', async () => {
    const bytes = await binaryOf(plain.armored);
    const list = packets(bytes);
    const firstSubkey = list.findIndex((p) => p.tag === 14);
    const binding = list[firstSubkey + 1]!;
    const selfSignature = list.findIndex((p) => p.tag === 2);
    const splice = (start: number, end: number, insert: Uint8Array = new Uint8Array()): Uint8Array =>
      new Uint8Array([...bytes.subarray(0, start), ...insert, ...bytes.subarray(end)]);
    const flipped = (at: number, mask: number): Uint8Array => {
      const copy = bytes.slice();
      copy[at]! ^= mask;
      return copy;
    };
    const self = list[selfSignature]!;
    // the first hashed subpacket of the user ID's self-signature: its type byte, after its 1-byte length
    const firstHashedType = self.bodyStart + 6 + 1;
    const mutations: [string, Uint8Array][] = [
      ['unchanged', bytes],
      ['binding signature removed', splice(binding.start, binding.end)],
      ['binding signature made invalid (last byte of its MPIs)', flipped(binding.end - 1, 0x01)],
      ['binding signature copied after itself', splice(binding.end, binding.end, bytes.subarray(binding.start, binding.end))],
      ['critical bit on a hashed subpacket of the self-signature', flipped(firstHashedType, 0x80)],
      ['self-signature version 5', flipped(self.bodyStart, 4 ^ 5)],
      ['self-signature made RSA', flipped(self.bodyStart + 2, 22 ^ 1)],
      ['subkey last, unbound', new Uint8Array([...bytes, ...bytes.subarray(list[firstSubkey]!.start, list[firstSubkey]!.end)])],
      ['a reserved packet (tag 0) appended', new Uint8Array([...bytes, 0xc0, 0x01, 0x00])],
    ];
    const verdicts = [];
    for (const [what, mutated] of mutations) {
      const armored = rearmor(mutated);
      verdicts.push([what, rpmImports(armored) ? 'rpm imports' : 'rpm refuses', await ours(armored)]);
    }
    expect(verdicts).toEqual([
      ['unchanged', 'rpm imports', 'ACCEPTED'],
      ['binding signature removed', 'rpm refuses', 'KEYRING_PARSE'],
      ['binding signature made invalid (last byte of its MPIs)', 'rpm refuses', 'KEYRING_PARSE'],
      ['binding signature copied after itself', 'rpm imports', 'ACCEPTED'],
      ['critical bit on a hashed subpacket of the self-signature', 'rpm refuses', 'KEYRING_PARSE'],
      ['self-signature version 5', 'rpm refuses', 'KEYRING_PARSE'],
      ['self-signature made RSA', 'rpm refuses', 'KEYRING_PARSE'],
      ['subkey last, unbound', 'rpm refuses', 'KEYRING_PARSE'],
      ['a reserved packet (tag 0) appended', 'rpm refuses', 'KEYRING_PARSE'],
    ]);
  });
});
