import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/pgp/keyring.ts';
import { codeOf } from './support/verify-bytes.ts';

let pub: string;
let priv: string;
beforeAll(async () => {
  const k = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'T', email: 't@example.invalid' }], format: 'armored' });
  pub = k.publicKey;
  priv = k.privateKey;
});

describe('a key file', () => {
  it('refuses a private key even inside a block labelled PUBLIC KEY', async () => {
    const disguised = priv.replace('BEGIN PGP PRIVATE KEY BLOCK', 'BEGIN PGP PUBLIC KEY BLOCK').replace('END PGP PRIVATE KEY BLOCK', 'END PGP PUBLIC KEY BLOCK');
    expect(await codeOf(loadKeyring([disguised]))).toBe('KEYRING_NOT_PUBLIC');
  });

  it('names an armored private key block as a private key, alone or beside a public block', async () => {
    for (const text of [priv, `${pub}\n${priv}`]) {
      await expect(loadKeyring([text], ['k.asc'])).rejects.toMatchObject({
        code: 'KEYRING_PARSE',
        message: expect.stringContaining('key file k.asc: an armored private key block, not a public key') as unknown,
      });
    }
  });

  it('takes text around the blocks, as rpm does (Red Hat ships its keys under prose), but no other "-----BEGIN PGP " there', async () => {
    expect(await codeOf(loadKeyring([pub]))).toBe('ACCEPTED');
    expect(await codeOf(loadKeyring([`The following public key can be used to verify RPM packages.\npub 4096R/FD431D51\n${pub}`]))).toBe('ACCEPTED');
    expect(await codeOf(loadKeyring([`${pub}\njunk -----END PGP PUBLIC KEY BLOCK-----\n`]))).toBe('ACCEPTED');
    await expect(loadKeyring([`${pub}\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n`], ['k.asc'])).rejects.toMatchObject({
      code: 'KEYRING_PARSE',
      message: expect.stringContaining('key file k.asc: "-----BEGIN PGP SIGNATURE-----" outside a public key block (rpm would try to read a key there)') as unknown,
    });
    expect(await codeOf(loadKeyring([`see -----BEGIN PGP MESSAGE----- below\n${pub}`]))).toBe('KEYRING_PARSE');
  });
});
