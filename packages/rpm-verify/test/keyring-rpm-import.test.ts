import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/pgp/keyring.ts';
import { binaryOf, packets, rearmor } from './support/key-packets.ts';
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
  return rpmImportedKeyIds(armored) !== undefined;
}

/** The short key IDs (8 hex digits) rpmkeys --import put into a fresh rpmdb, or undefined when it failed. */
function rpmImportedKeyIds(armored: string): string[] | undefined {
  files += 1;
  const file = join(scratch, `key-${files}.asc`);
  const db = join(scratch, `db-${files}`);
  writeFileSync(file, armored);
  if (run('rpmkeys', ['--dbpath', db, '--import', file]).status !== 0) return undefined;
  const listed = run('rpm', ['--dbpath', db, '-q', 'gpg-pubkey', '--qf', '%{VERSION}\\n']);
  return listed.status === 0 ? listed.stdout.split('\n').filter((line) => line !== '') : [];
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

/** A new-format packet of `tag` around `body`. */
function packet(tag: number, body: Uint8Array): Uint8Array {
  const length = body.length < 192 ? [body.length] : [((body.length - 192) >> 8) + 192, (body.length - 192) & 0xff];
  if (body.length > 8383) throw new Error('body too long for a two-byte length');
  return new Uint8Array([0xc0 | tag, ...length, ...body]);
}

/** `bytes` with packet `index` (of `packets(bytes)`) replaced by `replacement` (any number of packets). */
function replacePacket(bytes: Uint8Array, index: number, replacement: Uint8Array): Uint8Array {
  const p = packets(bytes)[index]!;
  return new Uint8Array([...bytes.subarray(0, p.start), ...replacement, ...bytes.subarray(p.end)]);
}

/**
 * A gpg Ed25519 key with its primary key's point counted 264 bits long instead of 263 (0x40 and
 * 32 bytes): the same bytes follow, OpenPGP.js re-encodes it as 263 bits, rpm hashes it as it stands.
 */
function longerMpi(bytes: Uint8Array): Uint8Array {
  const first = packets(bytes)[0]!;
  const body = bytes.subarray(first.bodyStart, first.end);
  expect([body[5], body[16], body[17]]).toEqual([22, 0x01, 0x07]);
  return replacePacket(bytes, 0, packet(6, new Uint8Array([...body.subarray(0, 17), 0x08, ...body.subarray(18)])));
}

/** An MPI of exactly `bits` bits (its top bit set), filled with 0x55 below. */
function mpiOfBits(bits: number): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(bits / 8)).fill(0x55);
  bytes[0] = 1 << ((bits - 1) % 8);
  return new Uint8Array([bits >> 8, bits & 0xff, ...bytes]);
}

describe('armor rpm 4.18 reads otherwise than OpenPGP.js', () => {
  const END = '-----END PGP PUBLIC KEY BLOCK-----';

  it('refuses an end line followed on its line by anything but CR or LF (a blank, a tab, NBSP, VT, FF, BOM, U+2028), as rpm does', async () => {
    expect([rpmImports(plain.armored.replace(END, `${END}\r`)), await ours(plain.armored.replace(END, `${END}\r`))]).toEqual([true, 'ACCEPTED']);
    const verdicts = [];
    for (const after of [' ', '\t', '\u00a0', '\v', '\f', '\ufeff', '\u2028']) {
      const armored = plain.armored.replace(END, `${END}${after}`);
      verdicts.push([JSON.stringify(after), rpmImports(armored), await ours(armored)]);
    }
    expect(verdicts.filter(([, rpm, ourVerdict]) => rpm !== false || ourVerdict !== 'KEYRING_PARSE')).toEqual([]);
    expect(verdicts).toHaveLength(7);
  });

  it('refuses two blocks of which rpm imports only the second (its end line not ending the first), though rpmkeys exits 0', async () => {
    const other = (await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'O' }], format: 'object' })).publicKey;
    const text = `${plain.armored.replace(END, `${END} `)}${other.armor()}`;
    expect(rpmImportedKeyIds(text)).toEqual([other.getKeyID().toHex().slice(8)]);
    await expect(loadKeyring([text], ['two.asc'])).rejects.toMatchObject({
      code: 'KEYRING_PARSE',
      message: expect.stringContaining('key file two.asc: armored block 1: text after its end line on the same line') as unknown,
    });
    expect([rpmImportedKeyIds(`${plain.armored}${other.armor()}`)?.length, await ours(`${plain.armored}${other.armor()}`)]).toEqual([2, 'ACCEPTED']);
  });

  it('takes prose around the blocks, as rpm does (RHEL ships its keys so), and refuses another armored block beside them, as rpm does', async () => {
    const prose = 'The following public key can be used to verify RPM packages built and\nsigned by Red Hat, Inc.\npub  4096R/FD431D51 2009-10-22\n';
    const signature = '-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n=AAAA\n-----END PGP SIGNATURE-----\n';
    const verdicts = [];
    for (const [what, text] of [
      ['prose before', `${prose}\n${plain.armored}`],
      ['prose after', `${plain.armored}\n${prose}`],
      ['a signature block after', `${plain.armored}\n${signature}`],
    ] as const) {
      verdicts.push([what, rpmImports(text), await ours(text)]);
    }
    expect(verdicts).toEqual([
      ['prose before', true, 'ACCEPTED'],
      ['prose after', true, 'ACCEPTED'],
      ['a signature block after', false, 'KEYRING_PARSE'],
    ]);
  });

  it('refuses "-----BEGIN PGP " anywhere but at a begin line, and a NUL, as rpm does (it starts a key at each, and reads only to a NUL)', async () => {
    const withComment = (value: string): string => plain.armored.replace(/^(-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n)/, `$1Comment: ${value}\n`);
    expect([rpmImports(withComment('an ordinary comment')), await ours(withComment('an ordinary comment'))]).toEqual([true, 'ACCEPTED']);
    const verdicts = [];
    for (const value of ['-----BEGIN PGP SIGNATURE-----', 'see -----BEGIN PGP MESSAGE-----', '-----BEGIN PGP X', 'a\0b']) {
      verdicts.push([value, rpmImports(withComment(value)), await ours(withComment(value))]);
    }
    expect(verdicts).toEqual([
      ['-----BEGIN PGP SIGNATURE-----', false, 'KEYRING_PARSE'],
      ['see -----BEGIN PGP MESSAGE-----', false, 'KEYRING_PARSE'],
      ['-----BEGIN PGP X', false, 'KEYRING_PARSE'],
      ['a\0b', false, 'KEYRING_PARSE'],
    ]);
  });
});

describe('key packets rpm 4.18 reads otherwise than OpenPGP.js', () => {
  it('never accepts a key rpm refuses, or one rpm would read under another fingerprint: key packet mutations, each checked against rpmkeys --import', async () => {
    const bytes = await binaryOf(plain.armored);
    const list = packets(bytes);
    const bodyOf = (i: number): Uint8Array => bytes.subarray(list[i]!.bodyStart, list[i]!.end);
    const primary = 0;
    const subkey = list.findIndex((p) => p.tag === 14);
    const selfSignature = list.findIndex((p) => p.tag === 2);
    const userIdAndCertifications = list.filter((p, i) => i > primary && i < subkey);
    expect(userIdAndCertifications.map((p) => p.tag)).toEqual([13, 2]);
    // the self-signature again, its two EdDSA values replaced: OpenPGP.js skips it as invalid, rpm parses its MPIs
    const withSignatureMpis = (bits: number): Uint8Array => {
      const body = bodyOf(selfSignature);
      const hashedEnd = 6 + ((body[4]! << 8) | body[5]!);
      const mpisAt = hashedEnd + 2 + ((body[hashedEnd]! << 8) | body[hashedEnd + 1]!) + 2;
      const copy = packet(2, new Uint8Array([...body.subarray(0, mpisAt), ...mpiOfBits(bits), ...mpiOfBits(bits)]));
      return replacePacket(bytes, selfSignature, new Uint8Array([...bytes.subarray(list[selfSignature]!.start, list[selfSignature]!.end), ...copy]));
    };
    const primaryBody = bodyOf(primary);
    const mutations: [string, Uint8Array][] = [
      ['unchanged', bytes],
      ['user ID and its certification left out (subkeys kept)', new Uint8Array([...bytes.subarray(0, list[1]!.start), ...bytes.subarray(list[subkey]!.start)])],
      ['primary key algorithm made ECDSA (19)', replacePacket(bytes, primary, packet(6, new Uint8Array([...primaryBody.subarray(0, 5), 19, ...primaryBody.subarray(6)])))],
      ["a byte after the primary key's MPIs", replacePacket(bytes, primary, packet(6, new Uint8Array([...primaryBody, 0])))],
      ["a byte after the first subkey's MPIs", replacePacket(bytes, subkey, packet(14, new Uint8Array([...bodyOf(subkey), 0])))],
      // the subkeys' bindings cover the primary key's bytes as they stand: rpm finds them broken
      ["the primary key's MPI counted one bit longer (the same bytes)", longerMpi(bytes)],
      ['a one-byte public key packet appended', new Uint8Array([...bytes, ...packet(6, Uint8Array.of(4))])],
      ['a bad certification with 16384-bit MPIs', withSignatureMpis(16384)],
      ['a bad certification with 16385-bit MPIs', withSignatureMpis(16385)],
    ];
    const verdicts = [];
    for (const [what, mutated] of mutations) {
      const armored = rearmor(mutated);
      const imported = rpmImportedKeyIds(armored);
      const rpm = imported === undefined ? 'rpm refuses' : imported.join() === plain.fingerprint.slice(-8).toLowerCase() ? 'rpm imports' : 'rpm imports another key';
      verdicts.push([what, rpm, await ours(armored)]);
    }
    expect(verdicts).toEqual([
      ['unchanged', 'rpm imports', 'ACCEPTED'],
      ['user ID and its certification left out (subkeys kept)', 'rpm refuses', 'KEYRING_PARSE'],
      ['primary key algorithm made ECDSA (19)', 'rpm refuses', 'KEYRING_UNSUPPORTED_ALGORITHM'],
      ["a byte after the primary key's MPIs", 'rpm refuses', 'KEYRING_PARSE'],
      ["a byte after the first subkey's MPIs", 'rpm refuses', 'KEYRING_PARSE'],
      ["the primary key's MPI counted one bit longer (the same bytes)", 'rpm refuses', 'KEYRING_PARSE'],
      ['a one-byte public key packet appended', 'rpm refuses', 'KEYRING_PARSE'],
      ['a bad certification with 16384-bit MPIs', 'rpm imports', 'ACCEPTED'],
      ['a bad certification with 16385-bit MPIs', 'rpm refuses', 'KEYRING_PARSE'],
    ]);
  });

  it('refuses a key rpm would import under another fingerprint than OpenPGP.js computes (an MPI not in minimal form)', async () => {
    gpg('--quick-generate-key', 'lone <lone@example.invalid>', 'ed25519', 'sign', 'never');
    const fingerprint = gpg('--with-colons', '--list-keys', 'lone').split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9] ?? '';
    const armored = gpg('--armor', '--export', fingerprint);
    expect([rpmImportedKeyIds(armored), await ours(armored)]).toEqual([[fingerprint.slice(-8).toLowerCase()], 'ACCEPTED']);
    const longer = rearmor(longerMpi(await binaryOf(armored)));
    const imported = rpmImportedKeyIds(longer);
    expect(imported).toHaveLength(1);
    expect(imported).not.toEqual([fingerprint.slice(-8).toLowerCase()]);
    await expect(loadKeyring([longer], ['longer.asc'])).rejects.toMatchObject({
      code: 'KEYRING_PARSE',
      // rpm's key ID is the last 8 hex digits of the fingerprint it computed
      message: expect.stringMatching(new RegExp(`rpm 4\\.18 would read the keys [0-9a-f]{32}${imported![0]!} where OpenPGP\\.js reads ${fingerprint.toLowerCase()}`)) as unknown,
    });
  });

  it('refuses a key whose subkey binding is over SHA3 (rpm 4.18 has no SHA3), as rpm does', async () => {
    const verdicts = [];
    const cases: ['ecc' | 'rsa', openpgp.enums.hash][] = [
      ['ecc', openpgp.enums.hash.sha512],
      ['ecc', openpgp.enums.hash.sha3_512],
      ['rsa', openpgp.enums.hash.sha3_256],
    ];
    for (const [type, hash] of cases) {
      const config = { preferredHashAlgorithm: hash };
      const { publicKey } = await openpgp.generateKey({ type, curve: 'ed25519Legacy', rsaBits: 2048, userIDs: [{ name: 'H' }], format: 'object', config });
      expect(publicKey.subkeys[0]?.bindingSignatures[0]?.hashAlgorithm).toBe(hash);
      verdicts.push([type, hash, rpmImports(publicKey.armor()), await ours(publicKey.armor())]);
    }
    expect(verdicts).toEqual([
      ['ecc', openpgp.enums.hash.sha512, true, 'ACCEPTED'],
      ['ecc', openpgp.enums.hash.sha3_512, false, 'KEYRING_PARSE'],
      ['rsa', openpgp.enums.hash.sha3_256, false, 'KEYRING_PARSE'],
    ]);
  });
});

describe('key IDs rpm would confuse', () => {
  it('refuses a keyring in which one key ID stands for two keys (a primary made on another key\'s subkey), which rpm imports only in part', async () => {
    const at = ['--faked-system-time', '20231201T000000!'];
    gpg(...at, '--quick-generate-key', 'first <first@example.invalid>', 'ed25519', 'sign', 'never');
    const first = gpg('--with-colons', '--list-keys', 'first').split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9] ?? '';
    gpg(...at, '--quick-add-key', first, 'ed25519', 'sign', 'never');
    const [subkey] = subkeyFingerprints(first);
    const keygrip = gpg('--with-colons', '--with-keygrip', '--list-keys', first).split('\n').filter((l) => l.startsWith('grp:'))[1]?.split(':')[9] ?? '';
    // a second home makes a primary key of that subkey's own key material, at the same time: the same fingerprint
    const otherHome = join(scratch, 'gnupg-other');
    run('mkdir', ['-m', '700', otherHome, `${otherHome}/private-keys-v1.d`]);
    run('cp', [join(gnupgHome, 'private-keys-v1.d', `${keygrip}.key`), join(otherHome, 'private-keys-v1.d')]);
    const other = (...args: string[]): string => {
      const result = run('gpg', [...BATCH, ...at, ...args], { ...gpgEnv, GNUPGHOME: otherHome });
      if (result.status !== 0) throw new Error(`gpg ${args.join(' ')}: ${result.stderr}`);
      return result.stdout;
    };
    const parameters = join(scratch, 'second.params');
    writeFileSync(parameters, `Key-Type: EDDSA\nKey-Curve: ed25519\nKey-Grip: ${keygrip}\nKey-Usage: sign\nName-Real: second\nExpire-Date: 0\n%no-protection\n%commit\n`);
    other('--generate-key', parameters);
    other('--quick-add-key', subkey!, 'ed25519', 'sign', 'never');
    const [firstArmored, secondArmored] = [gpg('--armor', '--export', first), other('--armor', '--export', subkey!)];
    expect(other('--with-colons', '--list-keys', subkey!).split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9]).toBe(subkey);

    // rpm, each file imported on its own as keys are added over time: the second is dropped, rpmkeys says nothing
    const db = join(scratch, 'db-confused');
    const files = [join(scratch, 'first.asc'), join(scratch, 'second.asc')];
    writeFileSync(files[0]!, firstArmored);
    writeFileSync(files[1]!, secondArmored);
    for (const file of files) expect(run('rpmkeys', ['--dbpath', db, '--import', file]).status).toBe(0);
    expect(run('rpm', ['--dbpath', db, '-q', 'gpg-pubkey', '--qf', '%{VERSION}\\n']).stdout.trim().split('\n')).toEqual([first.slice(-8).toLowerCase()]);

    expect(await ours(firstArmored)).toBe('ACCEPTED');
    expect(await ours(secondArmored)).toBe('ACCEPTED');
    await expect(loadKeyring([firstArmored, secondArmored], ['first.asc', 'second.asc'])).rejects.toMatchObject({
      code: 'KEYRING_DUPLICATE',
      message: expect.stringContaining(
        `key ID ${subkey!.slice(-16).toLowerCase()} stands for both subkey ${subkey!.toLowerCase()} of key ${first.toLowerCase()} and key ${subkey!.toLowerCase()}`,
      ) as unknown,
    });
  });
});
