/**
 * The header, lead and signature-packet parsers at each bound, offset, size, alignment and count
 * they check, one byte either side. They call the parsers directly.
 */
import { describe, expect, it } from 'vitest';
import { parseMainHeader } from '../src/header/main-header.ts';
import { parseSignatureHeader } from '../src/header/signature-header.ts';
import { parseHeader, parseHeaderIntro, type HeaderKind } from '../src/header/structure.ts';
import { readUint64, readUintColumn } from '../src/header/values.ts';
import { checkLeadName, parseLead } from '../src/lead.ts';
import { parseSignatureBlob } from '../src/pgp/signature-blob.ts';
import { SIGN_DATE, encodeSubpackets, oldFormatPacket, sub, type Subpacket } from './support/forge.ts';
import { buildHeader, patchIndex, storeStart, str, u32, u64, type RawEntry } from './support/header-builder.ts';
import { codeOfSync } from './support/verify-bytes.ts';

function parse(bytes: Uint8Array, kind: HeaderKind = 'main', budget = 1 << 20) {
  const intro = parseHeaderIntro(bytes.subarray(0, 16), kind, budget, 'x.rpm');
  return parseHeader(bytes, intro, kind, 'x.rpm');
}

describe('header structure at its boundaries', () => {
  it('parses a header holding only its region tag (a data store of exactly the 16-byte trailer)', () => {
    for (const kind of ['main', 'signature'] as const) {
      const h = buildHeader(kind, []);
      expect(Buffer.from(h).readUInt32BE(12)).toBe(16);
      expect(parse(h, kind).entries.size).toBe(0);
    }
  });

  it('blames a string whose NUL lies in the next entry\'s data, starting one byte after it, on the string', () => {
    // "ab\0" at 0, then a BIN entry (no alignment) moved back to offset 1: the string's NUL is inside it
    const h = buildHeader('main', [
      { tag: 1000, type: 6, count: 1, data: str('ab') },
      { tag: 1001, type: 7, count: 1, data: Uint8Array.from([9]) },
    ]);
    expect(() => parse(patchIndex(h, 2, 2, 1))).toThrow(
      expect.objectContaining({ code: 'RPM_HEADER_BOUNDS', message: expect.stringContaining("tag 1000 string 0 is not NUL-terminated before tag 1001's data at offset 1") as string }) as Error,
    );
  });

  it('reports a string running to the trailer as unterminated inside the store when the next entry claims the trailer\'s offset', () => {
    const h = Buffer.from(
      patchIndex(
        buildHeader('main', [
          { tag: 1000, type: 6, count: 1, data: str('ab') },
          { tag: 1001, type: 7, count: 1, data: Uint8Array.from([9]) },
        ]),
        2,
        2,
        4, // the trailer's offset: bounds nothing
      ),
    );
    h[storeStart(h) + 2] = 0x41;
    expect(() => parse(h)).toThrow(
      expect.objectContaining({ code: 'RPM_HEADER_BOUNDS', message: expect.stringContaining('tag 1000 string 0 is not NUL-terminated inside the store') as string }) as Error,
    );
  });

  it('aligns INT64 data to 8 bytes, not 4, and INT16 to 2', () => {
    // 4 bytes of INT32, then 8 bytes laid out without padding as BIN, then retyped: INT64 at offset 4
    const h = buildHeader('main', [
      { tag: 1000, type: 4, count: 1, data: u32(1) },
      { tag: 1001, type: 7, count: 8, data: new Uint8Array(8) },
    ]);
    expect(parse(h).entries.size).toBe(2);
    expect(() => parse(patchIndex(patchIndex(h, 2, 1, 5), 2, 3, 1))).toThrow(
      expect.objectContaining({ code: 'RPM_HEADER_NOT_CANONICAL', message: expect.stringContaining('tag 1001 data at offset 4, expected 8') as string }) as Error,
    );
    const odd = buildHeader('main', [
      { tag: 1000, type: 7, count: 1, data: Uint8Array.from([1]) },
      { tag: 1001, type: 7, count: 2, data: new Uint8Array(2) },
    ]);
    expect(() => parse(patchIndex(odd, 2, 1, 3))).toThrow(
      expect.objectContaining({ code: 'RPM_HEADER_NOT_CANONICAL', message: expect.stringContaining('tag 1001 data at offset 1, expected 2') as string }) as Error,
    );
  });

  it('ends a string at its first NUL whatever its length, around the 32 bytes scanned before the native search', () => {
    for (const n of [0, 1, 30, 31, 32, 33, 34, 64, 65]) {
      const text = 'a'.repeat(n);
      // a second NUL right after the first: a scan that skipped the first would take both
      const h = buildHeader('main', [
        { tag: 1000, type: 6, count: 1, data: str(text) },
        { tag: 1001, type: 8, count: 2, data: str(`${text}\0b`) },
        { tag: 1002, type: 7, count: 1, data: Uint8Array.from([0]) },
      ]);
      const entries = parse(h).entries;
      expect([n, entries.get(1000)!.data.length, entries.get(1001)!.data.length]).toEqual([n, n + 1, n + 3]);
    }
  });
});

/** A lead as rpm 4.18 writes it: magic, 3.0, binary, x86_64 (1), the name, Linux (1), signature type 5. */
function lead(name: string | Uint8Array = 'pkg-1.0-1'): Buffer {
  const b = Buffer.alloc(96);
  Buffer.from([0xed, 0xab, 0xee, 0xdb, 3, 0]).copy(b);
  b.writeUInt16BE(1, 8);
  Buffer.from(name).copy(b, 10);
  b.writeUInt16BE(1, 76);
  b.writeUInt16BE(5, 78);
  return b;
}

describe('the lead at its boundaries', () => {
  it('accepts the lead rpm writes', () => {
    expect(parseLead(lead(), 'x.rpm').name).toBe('pkg-1.0-1');
  });

  it('rejects a lead version 3.x other than 3.0', () => {
    const b = lead();
    b[5] = 1;
    expect(codeOfSync(() => parseLead(b, 'x.rpm'))).toBe('RPM_BAD_LEAD');
  });

  it('rejects a non-zero byte anywhere in the reserved area, its first and its last byte included', () => {
    for (const at of [80, 81, 94, 95]) {
      const b = lead();
      b[at] = 1;
      expect([at, codeOfSync(() => parseLead(b, 'x.rpm'))]).toEqual([at, 'RPM_BAD_LEAD']);
    }
  });

  it('rejects an empty lead name and a name field not zero-filled up to its last byte', () => {
    expect(codeOfSync(() => parseLead(lead(''), 'x.rpm'))).toBe('RPM_BAD_LEAD');
    for (const at of [10 + 10, 10 + 64, 10 + 65]) {
      const b = lead();
      b[at] = 0x41;
      expect([at, codeOfSync(() => parseLead(b, 'x.rpm'))]).toEqual([at, 'RPM_BAD_LEAD']);
    }
  });

  it('takes a 65-byte name (the longest with its NUL) and refuses a 66-byte one, which has no room for a NUL', () => {
    expect(parseLead(lead('n'.repeat(65)), 'x.rpm').name).toBe('n'.repeat(65));
    expect(codeOfSync(() => parseLead(lead('n'.repeat(66)), 'x.rpm'))).toBe('RPM_BAD_LEAD');
  });

  it('compares the lead name with the header NEVR cut to 65 bytes, and only so', () => {
    const nevr = `${'n'.repeat(60)}-1.0-1`; // 66 bytes
    const cut = parseLead(lead(nevr.slice(0, 65)), 'x.rpm');
    expect(codeOfSync(() => checkLeadName(cut, nevr, 'x.rpm'))).toBe('ACCEPTED');
    const shorter = parseLead(lead(nevr.slice(0, 64)), 'x.rpm');
    expect(codeOfSync(() => checkLeadName(shorter, nevr, 'x.rpm'))).toBe('RPM_LEAD_NAME_MISMATCH');
  });

  it('rejects arch 0 or os 0 alone (only the rpm 6 pair 0/0 passes)', () => {
    for (const [arch, os, want] of [[0, 0, 'ACCEPTED'], [0, 1, 'RPM_BAD_LEAD'], [1, 0, 'RPM_BAD_LEAD'], [255, 0, 'RPM_BAD_LEAD']] as const) {
      const b = lead();
      b.writeUInt16BE(arch, 8);
      b.writeUInt16BE(os, 76);
      expect([arch, os, codeOfSync(() => parseLead(b, 'x.rpm'))]).toEqual([arch, os, want]);
    }
  });
});

function sorted(entries: RawEntry[]): RawEntry[] {
  return [...entries].sort((a, b) => a.tag - b.tag);
}

/** The smallest main header parseMainHeader takes; `extra` replaces or adds entries by tag. */
function mainHeaderWith(...extra: RawEntry[]) {
  const base: RawEntry[] = [
    { tag: 1000, type: 6, count: 1, data: str('pkg') },
    { tag: 1001, type: 6, count: 1, data: str('1.0') },
    { tag: 1002, type: 6, count: 1, data: str('1') },
    { tag: 1022, type: 6, count: 1, data: str('noarch') },
    { tag: 1044, type: 6, count: 1, data: str('pkg-1.0-1.src.rpm') },
    { tag: 1124, type: 6, count: 1, data: str('cpio') },
    { tag: 5092, type: 8, count: 1, data: str('a'.repeat(64)) },
    { tag: 5093, type: 4, count: 1, data: u32(8) },
  ];
  const tags = new Set(extra.map((e) => e.tag));
  return parse(buildHeader('main', sorted([...base.filter((e) => !tags.has(e.tag)), ...extra])));
}

/** The smallest signature header parseSignatureHeader takes, plus `extra`. */
function sigHeaderWith(...extra: RawEntry[]) {
  const base: RawEntry[] = [
    { tag: 273, type: 6, count: 1, data: str('b'.repeat(64)) },
    { tag: 1000, type: 4, count: 1, data: u32(1000) },
    { tag: 1007, type: 4, count: 1, data: u32(2000) },
  ];
  const tags = new Set(extra.map((e) => e.tag));
  return parse(buildHeader('signature', sorted([...base.filter((e) => !tags.has(e.tag)), ...extra])), 'signature');
}

const mainCode = (...extra: RawEntry[]) => codeOfSync(() => parseMainHeader(mainHeaderWith(...extra), 'x.rpm'));
const sigCode = (...extra: RawEntry[]) => codeOfSync(() => parseSignatureHeader(sigHeaderWith(...extra), 'x.rpm'));
const bin = (tag: number, bytes: Uint8Array): RawEntry => ({ tag, type: 7, count: bytes.length, data: bytes });

describe('main header values at their limits', () => {
  it('accepts the smallest main header the helpers build', () => {
    expect(mainCode()).toBe('ACCEPTED');
  });

  it('names signature tags in the main header as such: the whole range 256..999, both ends included', () => {
    for (const tag of [256, 257, 998, 999]) {
      expect([tag, mainCode({ tag, type: 7, count: 1, data: Uint8Array.from([0]) })]).toEqual([tag, 'RPM_SIG_IN_MAIN_HEADER']);
    }
    for (const tag of [64, 99, 101, 255]) {
      expect([tag, mainCode({ tag, type: 7, count: 1, data: Uint8Array.from([0]) })]).toEqual([tag, 'RPM_MAIN_TAG_NOT_ALLOWED']);
    }
  });

  it('takes EPOCH 2^31-1 and refuses 2^31', () => {
    expect(mainCode({ tag: 1003, type: 4, count: 1, data: u32(0x7fffffff) })).toBe('ACCEPTED');
    expect(mainCode({ tag: 1003, type: 4, count: 1, data: u32(0x80000000) })).toBe('RPM_NEVRA_BAD');
  });

  it('takes a NAME of 256 bytes, VERSION of 255 and ARCH of 64, and refuses one byte more', () => {
    expect(mainCode({ tag: 1000, type: 6, count: 1, data: str('n'.repeat(256)) })).toBe('ACCEPTED');
    expect(mainCode({ tag: 1000, type: 6, count: 1, data: str('n'.repeat(257)) })).toBe('RPM_NEVRA_BAD');
    expect(mainCode({ tag: 1001, type: 6, count: 1, data: str('1'.repeat(255)) })).toBe('ACCEPTED');
    expect(mainCode({ tag: 1001, type: 6, count: 1, data: str('1'.repeat(256)) })).toBe('RPM_NEVRA_BAD');
    expect(mainCode({ tag: 1022, type: 6, count: 1, data: str('a'.repeat(64)) })).toBe('ACCEPTED');
    expect(mainCode({ tag: 1022, type: 6, count: 1, data: str('a'.repeat(65)) })).toBe('RPM_NEVRA_BAD');
  });

  it('lets the string types stand in for each other but never BIN for a string tag', () => {
    expect(mainCode({ tag: 1044, type: 8, count: 1, data: str('pkg-1.0-1.src.rpm') })).toBe('ACCEPTED');
    expect(mainCode({ tag: 1044, type: 9, count: 1, data: str('pkg-1.0-1.src.rpm') })).toBe('ACCEPTED');
    expect(mainCode({ tag: 1044, type: 7, count: 4, data: Uint8Array.from([1, 2, 3, 4]) })).toBe('RPM_HEADER_TYPE_BAD');
    expect(mainCode({ tag: 1044, type: 4, count: 1, data: u32(1) })).toBe('RPM_HEADER_TYPE_BAD');
  });
});

describe('signature header values at their limits', () => {
  it('accepts the smallest signature header the helpers build', () => {
    expect(sigCode()).toBe('ACCEPTED');
  });

  it('takes a 4096-byte signature blob and refuses 4097 bytes', () => {
    expect(sigCode(bin(268, new Uint8Array(4096)))).toBe('ACCEPTED');
    expect(sigCode(bin(268, new Uint8Array(4097)))).toBe('RPM_SIG_TAG_BAD');
  });

  it('takes 65536 zero bytes of RESERVEDSPACE and refuses 65537, or any non-zero byte, the first included', () => {
    expect(sigCode(bin(1008, new Uint8Array(65536)))).toBe('ACCEPTED');
    expect(sigCode(bin(1008, new Uint8Array(65537)))).toBe('RPM_RESERVED_SPACE_TOO_LARGE');
    for (const at of [0, 1, 4095]) {
      const b = new Uint8Array(4096);
      b[at] = 1;
      expect([at, sigCode(bin(1008, b))]).toEqual([at, 'RPM_RESERVED_SPACE_NOT_ZERO']);
    }
  });

  it('refuses a header digest one hex digit short, and an MD5 that is not 16 bytes', () => {
    expect(sigCode({ tag: 273, type: 6, count: 1, data: str('b'.repeat(63)) })).toBe('RPM_SIG_TAG_BAD');
    expect(sigCode({ tag: 269, type: 6, count: 1, data: str('c'.repeat(39)) })).toBe('RPM_SIG_TAG_BAD');
    expect(sigCode(bin(1004, new Uint8Array(16)))).toBe('ACCEPTED');
    expect(sigCode(bin(1004, new Uint8Array(15)))).toBe('RPM_SIG_TAG_BAD');
    expect(sigCode(bin(1004, new Uint8Array(17)))).toBe('RPM_SIG_TAG_BAD');
  });
});

describe('64-bit values at the largest safe integer', () => {
  const entryOf = (tag: number, type: number, count: number, data: Uint8Array) => parse(buildHeader('main', [{ tag, type, count, data }])).entries.get(tag)!;
  const r = { code: 'RPM_SIG_TAG_BAD', where: 'test', member: 'x.rpm' } as const;

  it('reads 2^53-1 and refuses 2^53 as one INT64', () => {
    expect(readUint64(entryOf(270, 5, 1, u64(2n ** 53n - 1n)), r)).toBe(Number.MAX_SAFE_INTEGER);
    expect(codeOfSync(() => readUint64(entryOf(270, 5, 1, u64(2n ** 53n)), r))).toBe('RPM_SIG_TAG_BAD');
  });

  it('reads 2^53-1 and refuses 2^53 in an INT64 column', () => {
    expect(readUintColumn(entryOf(5008, 5, 1, u64(2n ** 53n - 1n)), 5, r)(0)).toBe(Number.MAX_SAFE_INTEGER);
    expect(codeOfSync(() => readUintColumn(entryOf(5008, 5, 2, Buffer.concat([u64(1n), u64(2n ** 53n)])), 5, r))).toBe('RPM_SIG_TAG_BAD');
  });
});

const KEY_ID = Buffer.from('1122334455667788', 'hex');

/** A v4 EdDSA binary-document signature packet body with chosen areas (its values are never verified here). */
function edBody(opts: { hashed?: Subpacket[]; hashedRaw?: Buffer; unhashed?: Buffer; tail?: Buffer } = {}): Buffer {
  const hashed = opts.hashedRaw ?? encodeSubpackets(opts.hashed ?? [sub.created(SIGN_DATE), sub.issuerKeyId(KEY_ID)]);
  const unhashed = opts.unhashed ?? Buffer.alloc(0);
  const mpi = Buffer.concat([Buffer.from([0x01, 0x00, 0x80]), Buffer.alloc(31, 1)]); // 256 bits
  const len = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([4, 0, 22, 8]), len(hashed.length), hashed, len(unhashed.length), unhashed, Buffer.from([0xab, 0xcd]), mpi, mpi, opts.tail ?? Buffer.alloc(0)]);
}

const blobCode = (blob: Uint8Array) => codeOfSync(() => parseSignatureBlob(blob, 267, 'x.rpm'));
const blobMessage = (blob: Uint8Array): string => {
  try {
    parseSignatureBlob(blob, 267, 'x.rpm');
  } catch (err) {
    return (err as Error).message;
  }
  return 'ACCEPTED';
};

describe('signature packet framing at its boundaries', () => {
  it('accepts the packet the helper builds', () => {
    expect(parseSignatureBlob(oldFormatPacket(edBody()), 267, 'x.rpm').issuer.keyId).toBe('1122334455667788');
  });

  it('refuses each packet length one short of needing its encoding, and takes the first length that needs it', () => {
    const body = (n: number) => Buffer.alloc(n); // version 0: refused after the framing, for another reason
    const old2 = (n: number) => Buffer.concat([Buffer.from([0x89, n >> 8, n & 0xff]), body(n)]);
    const old4 = (n: number) => Buffer.concat([Buffer.from([0x8a, 0, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]), body(n)]);
    const new5 = (n: number) => Buffer.concat([Buffer.from([0xc2, 0xff, 0, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]), body(n)]);
    expect(blobMessage(old2(255))).toContain('packet length 255 is not in its shortest encoding');
    expect(blobMessage(old2(256))).toContain('signature packet version 0');
    expect(blobMessage(old4(0xffff))).toContain('packet length 65535 is not in its shortest encoding');
    expect(blobMessage(old4(0x10000))).toContain('signature packet version 0');
    expect(blobMessage(new5(8383))).toContain('packet length 8383 is not in its shortest encoding');
    expect(blobMessage(new5(8384))).toContain('signature packet version 0');
  });

  it('refuses a hashed subpacket whose length runs one byte past its area', () => {
    const hashed = encodeSubpackets([sub.created(SIGN_DATE), sub.issuerKeyId(KEY_ID)]);
    const over = Buffer.from(hashed);
    over[over.length - 10] = 10; // the issuer key ID's length byte: 9 -> 10
    expect(blobCode(oldFormatPacket(edBody({ hashedRaw: over })))).toBe('RPM_SIG_BLOB_BAD');
  });

  it('refuses a subpacket of length 0', () => {
    const hashed = Buffer.concat([Buffer.from([0]), encodeSubpackets([sub.created(SIGN_DATE), sub.issuerKeyId(KEY_ID)])]);
    expect(blobMessage(oldFormatPacket(edBody({ hashedRaw: hashed })))).toContain('a subpacket has length 0');
  });

  it('refuses creation time, expiry, key ID and fingerprint subpackets one byte longer than their field', () => {
    const created = { type: 2, body: Buffer.alloc(5, 1) };
    const expires = { type: 3, body: Buffer.alloc(5) };
    const keyId = { type: 16, body: Buffer.concat([KEY_ID, Buffer.from([0])]) };
    // 21 bytes of fingerprint after the version, ending in the key ID: only its length is wrong
    const fpr = { type: 33, body: Buffer.concat([Buffer.from([4]), Buffer.alloc(13), KEY_ID]) };
    for (const hashed of [[created, sub.issuerKeyId(KEY_ID)], [sub.created(SIGN_DATE), expires, sub.issuerKeyId(KEY_ID)], [sub.created(SIGN_DATE), keyId], [sub.created(SIGN_DATE), sub.issuerKeyId(KEY_ID), fpr]]) {
      expect([hashed.map((h) => h.type), blobCode(oldFormatPacket(edBody({ hashed })))]).toEqual([hashed.map((h) => h.type), 'RPM_SIG_BLOB_BAD']);
    }
  });

  it('refuses an unhashed area holding the issuer key ID with one byte more or less', () => {
    const ok = Buffer.concat([Buffer.from([9, 16]), KEY_ID]);
    expect(blobCode(oldFormatPacket(edBody({ unhashed: ok })))).toBe('ACCEPTED');
    // no hashed key ID, so that nothing else disagrees with the unhashed one
    const hashed = [sub.created(SIGN_DATE)];
    expect(blobCode(oldFormatPacket(edBody({ hashed, unhashed: ok })))).toBe('ACCEPTED');
    expect(blobCode(oldFormatPacket(edBody({ hashed, unhashed: Buffer.concat([ok, Buffer.from([0])]) })))).toBe('RPM_SIG_BLOB_BAD');
    expect(blobCode(oldFormatPacket(edBody({ hashed, unhashed: ok.subarray(0, 9) })))).toBe('RPM_SIG_BLOB_BAD');
  });

  it('refuses one trailing byte after the signature MPIs', () => {
    expect(blobMessage(oldFormatPacket(edBody({ tail: Buffer.from([0]) })))).toContain('trailing bytes inside the signature packet');
  });

  it('refuses a critical notation, key flags, and a second creation time', () => {
    expect(blobCode(oldFormatPacket(edBody({ hashed: [sub.created(SIGN_DATE), sub.issuerKeyId(KEY_ID), sub.notation('a@b', 'c', true)] })))).toBe('RPM_SIG_BLOB_BAD');
    expect(blobCode(oldFormatPacket(edBody({ hashed: [sub.created(SIGN_DATE), sub.issuerKeyId(KEY_ID), sub.notation('a@b', 'c', false)] })))).toBe('ACCEPTED');
    expect(blobCode(oldFormatPacket(edBody({ hashed: [sub.created(SIGN_DATE), sub.issuerKeyId(KEY_ID), { type: 27, body: Buffer.from([2]) }] })))).toBe('RPM_SIG_BLOB_BAD');
    expect(blobCode(oldFormatPacket(edBody({ hashed: [sub.created(SIGN_DATE), sub.created(SIGN_DATE), sub.issuerKeyId(KEY_ID)] })))).toBe('RPM_SIG_BLOB_BAD');
  });

  it('takes an issuer key ID with zeros after a non-zero first digit; only all zeros is the wildcard', () => {
    const id = Buffer.from('1000000000000000', 'hex');
    expect(parseSignatureBlob(oldFormatPacket(edBody({ hashed: [sub.created(SIGN_DATE), sub.issuerKeyId(id)] })), 267, 'x.rpm').issuer.keyId).toBe('1000000000000000');
    expect(blobCode(oldFormatPacket(edBody({ hashed: [sub.created(SIGN_DATE), sub.issuerKeyId(Buffer.alloc(8))] })))).toBe('RPM_SIG_BLOB_BAD');
  });
});
