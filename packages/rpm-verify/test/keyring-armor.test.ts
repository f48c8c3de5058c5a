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

  it('refuses text before the first or after the last armored block', async () => {
    expect(await codeOf(loadKeyring([pub]))).toBe('ACCEPTED');
    expect(await codeOf(loadKeyring([`junk\n${pub}`]))).toBe('KEYRING_PARSE');
    expect(await codeOf(loadKeyring([`${pub}\njunk\n`]))).toBe('KEYRING_PARSE');
  });
});
