import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring, pinnedKeyIds } from '../src/pgp/keyring.ts';
import { fixtures, type Loaded } from './support/fixtures.ts';

let fx: Loaded;
beforeAll(async () => {
  fx = await fixtures();
}, 300_000);

describe('loadKeyring', () => {
  it('pins several keys, from separate files or one concatenated file', async () => {
    const texts = await Promise.all(fx.set.trustedKeyPaths.map((p) => readFile(p, 'utf8')));
    const expected = ['trusted-rsa', 'trusted-ed25519'].map((id) => fx.set.keys[id as 'trusted-rsa'].fingerprint.toLowerCase());
    expect((await loadKeyring(texts)).fingerprints).toEqual(expected);
    expect((await loadKeyring([texts.join('\n')])).fingerprints).toEqual(expected);
  });

  it('lists the key ID rpm prints for each package a pinned key signed, and no other', async () => {
    const keyring = await loadKeyring(await Promise.all(fx.set.trustedKeyPaths.map((p) => readFile(p, 'utf8'))));
    const ids = await pinnedKeyIds(keyring);
    for (const fpr of keyring.fingerprints) expect(ids).toContain(fpr.slice(-16));
    const signed = fx.set.packages.v2.filter((p) => p.signer?.startsWith('trusted-') === true);
    expect(signed.length).toBeGreaterThan(1);
    for (const pkg of signed) {
      const printed = execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '%{RSAHEADER:pgpsig}|%{DSAHEADER:pgpsig}', pkg.path], { encoding: 'utf8' });
      const id = /Key ID ([0-9a-f]{16})/.exec(printed)?.[1];
      expect([pkg.fileName, id !== undefined && ids.has(id)]).toEqual([pkg.fileName, true]);
    }
    expect(ids.size).toBe(keyring.fingerprints.length);
  });

  it('rejects no keys, garbage, duplicates and weak keys with their codes', async () => {
    const rsa = await readFile(fx.set.keys['trusted-rsa'].publicKeyPath, 'utf8');
    await expect(loadKeyring([])).rejects.toMatchObject({ code: 'KEYRING_EMPTY' });
    await expect(loadKeyring(['-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n'])).rejects.toMatchObject({ code: 'KEYRING_PARSE' });
    await expect(loadKeyring([rsa, rsa])).rejects.toMatchObject({ code: 'KEYRING_DUPLICATE' });
    const weak = await readFile(fx.set.keys['weak-rsa1024'].publicKeyPath, 'utf8');
    await expect(loadKeyring([weak])).rejects.toMatchObject({ code: 'KEYRING_WEAK_KEY' });
  });

  it('refuses a DSA key made by gpg, as weak', async () => {
    const home = await mkdtemp(join(tmpdir(), 'rpm-verify-dsa-'));
    const env = { ...process.env, GNUPGHOME: home };
    try {
      execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-generate-key', 'DSA <dsa@example.invalid>', 'dsa2048', 'sign', 'never'], { env, stdio: 'ignore' });
      const armored = execFileSync('gpg', ['--armor', '--export', 'dsa@example.invalid'], { env, encoding: 'utf8' });
      expect(armored).toContain('BEGIN PGP PUBLIC KEY BLOCK');
      await expect(loadKeyring([armored])).rejects.toMatchObject({ code: 'KEYRING_WEAK_KEY' });
    } finally {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env, stdio: 'ignore' });
      await rm(home, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a key whose every self-signature uses SHA-1, as weak, and takes it once a newer SHA-256 self-signature supersedes them', async () => {
    const home = await mkdtemp(join(tmpdir(), 'rpm-verify-sha1-'));
    const env = { ...process.env, GNUPGHOME: home };
    const gpg = (args: string[]): string => execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      gpg(['--cert-digest-algo', 'SHA1', '--quick-generate-key', 'SHA1 <sha1@example.invalid>', 'rsa2048', 'sign', 'never']);
      const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--list-keys', '--with-colons']))?.[1] ?? '';
      const sha1Only = gpg(['--armor', '--export', fpr]);
      await expect(loadKeyring([sha1Only], ['sha1.asc'])).rejects.toMatchObject({
        code: 'KEYRING_WEAK_KEY',
        message: expect.stringContaining(`key ${fpr.toLowerCase()} in key file sha1.asc: every self-signature of user ID 1 uses SHA1, a hash that is not accepted`) as string,
      });
      // a new self-signature (here from changing the expiry) with gpg's default hash
      gpg(['--cert-digest-algo', 'SHA256', '--quick-set-expire', fpr, '5y']);
      await expect(loadKeyring([gpg(['--armor', '--export', fpr])])).resolves.toMatchObject({ fingerprints: [fpr.toLowerCase()] });
    } finally {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env, stdio: 'ignore' });
      await rm(home, { recursive: true, force: true });
    }
  }, 60_000);

  it("names gpg's revocation certificate, alone or appended after the key, as a block of signatures without a key", async () => {
    const home = await mkdtemp(join(tmpdir(), 'rpm-verify-rev-'));
    const env = { ...process.env, GNUPGHOME: home };
    const gpg = (args: string[]): string => execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      gpg(['--quick-generate-key', 'Rev <rev@example.invalid>', 'ed25519', 'sign', 'never']);
      const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--list-keys', '--with-colons']))?.[1] ?? '';
      const key = gpg(['--armor', '--export', fpr]);
      // gpg's own certificate, with the ':' it puts before the begin line against accidental import removed
      const saved = await readFile(join(home, 'openpgp-revocs.d', `${fpr}.rev`), 'utf8');
      const certificate = saved.slice(saved.indexOf(':-----BEGIN') + 1);
      for (const [text, block] of [[certificate, 1], [`${key}${certificate}`, 2]] as const) {
        await expect(loadKeyring([text], ['k.asc'])).rejects.toMatchObject({
          code: 'KEYRING_PARSE',
          message: expect.stringContaining(`key file k.asc: armored block ${block} holds no key, only signatures (a revocation certificate on its own?)`) as string,
        });
      }
      // merged as the message says, the key loads and is revoked
      const merged = join(home, 'rev.asc');
      execFileSync('sh', ['-c', 'cat > "$1"', 'sh', merged], { input: certificate });
      gpg(['--import', merged]);
      const revoked = await loadKeyring([gpg(['--armor', '--export', fpr])]);
      expect(await pinnedKeyIds(revoked)).toEqual(new Set());
    } finally {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env, stdio: 'ignore' });
      await rm(home, { recursive: true, force: true });
    }
  }, 60_000);
});
