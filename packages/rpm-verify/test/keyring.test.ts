import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/pgp/keyring.ts';
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

  it('rejects no keys, garbage, duplicates and weak keys with their codes', async () => {
    const rsa = await readFile(fx.set.keys['trusted-rsa'].publicKeyPath, 'utf8');
    await expect(loadKeyring([])).rejects.toMatchObject({ code: 'KEYRING_EMPTY' });
    await expect(loadKeyring(['-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n'])).rejects.toMatchObject({ code: 'KEYRING_PARSE' });
    await expect(loadKeyring([rsa, rsa])).rejects.toMatchObject({ code: 'KEYRING_DUPLICATE' });
    const weak = await readFile(fx.set.keys['weak-rsa1024'].publicKeyPath, 'utf8');
    await expect(loadKeyring([weak])).rejects.toMatchObject({ code: 'KEYRING_WEAK_KEY' });
  });
});
