import { describe, expect, it } from 'vitest';
import { parseHeader, parseHeaderIntro } from '../src/header/structure.ts';
import { judgeKeyAlgorithm } from '../src/pgp/policy.ts';
import { buildHeader, str } from './support/header-builder.ts';
import { codeOfSync } from './support/verify-bytes.ts';

describe('a header at the edges of its bounds', () => {
  // il = 0 must be refused by the intro check itself; the existing test patches il on a
  // 5-entry header, so it fails on the length mismatch in parseHeader, never on `indexCount < 1`.
  it('refuses a header with index count 0 (a self-consistent 32-byte one)', () => {
    const b = Buffer.alloc(32);
    Buffer.from([0x8e, 0xad, 0xe8, 0x01]).copy(b);
    b.writeUInt32BE(0, 8); // il = 0
    b.writeUInt32BE(16, 12); // dl = 16: only the region trailer
    // the 16 bytes read as region entry 0 are also the trailer: tag 63, BIN, offset 0 (= -0*16), 16
    b.writeUInt32BE(63, 16);
    b.writeUInt32BE(7, 20);
    b.writeUInt32BE(0, 24);
    b.writeUInt32BE(16, 28);
    expect(codeOfSync(() => parseHeader(b, parseHeaderIntro(b.subarray(0, 16), 'main', 1 << 20, 'x.rpm'), 'main', 'x.rpm'))).toBe('RPM_HEADER_BOUNDS');
  });

  // a header exactly one byte over the budget
  it('refuses a header one byte over the budget and takes one exactly at it', () => {
    const h = buildHeader('main', [{ tag: 1000, type: 6, count: 1, data: str('hello') }]);
    expect(codeOfSync(() => parseHeaderIntro(h.subarray(0, 16), 'main', h.length, 'x.rpm'))).toBe('ACCEPTED');
    expect(codeOfSync(() => parseHeaderIntro(h.subarray(0, 16), 'main', h.length - 1, 'x.rpm'))).toBe('RPM_TOO_LARGE');
  });
});

describe('the key policy', () => {
  it('refuses an RSA key of 2047 bits and takes one of 2048', () => {
    expect(judgeKeyAlgorithm({ algorithm: 'rsaSign', bits: 2047 } as never).ok).toBe(false);
    expect(judgeKeyAlgorithm({ algorithm: 'rsaEncryptSign', bits: 2048 } as never).ok).toBe(true);
  });

  it('takes legacy EdDSA only on Ed25519', () => {
    expect(judgeKeyAlgorithm({ algorithm: 'eddsaLegacy', curve: 'ed25519Legacy' } as never).ok).toBe(true);
    for (const curve of ['curve25519Legacy', 'nistP256', 'ed448', undefined]) {
      expect([curve, judgeKeyAlgorithm({ algorithm: 'eddsaLegacy', curve } as never).ok]).toEqual([curve, false]);
    }
  });
});
