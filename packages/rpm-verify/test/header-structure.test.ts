import { describe, expect, it } from 'vitest';
import { parseHeader, parseHeaderIntro, type HeaderKind } from '../src/header/structure.ts';
import { buildHeader, patchIndex, storeStart, str, u32, type RawEntry } from './support/header-builder.ts';
import { codeOfSync } from './support/verify-bytes.ts';

const BASE: RawEntry[] = [
  { tag: 1000, type: 6, count: 1, data: str('hello') },
  { tag: 1001, type: 8, count: 2, data: str('a\0bc') },
  { tag: 1002, type: 4, count: 2, data: u32(7, 9) },
  { tag: 1003, type: 7, count: 3, data: Uint8Array.from([1, 2, 3]) },
];

function parse(bytes: Uint8Array, kind: HeaderKind = 'main', budget = 1 << 20) {
  const intro = parseHeaderIntro(bytes.subarray(0, 16), kind, budget, 'x.rpm');
  return parseHeader(bytes, intro, kind, 'x.rpm');
}


describe('header structure', () => {
  it('accepts a canonical header and returns each entry exactly', () => {
    const h = parse(buildHeader('main', BASE));
    expect([...h.entries.keys()]).toEqual([1000, 1001, 1002, 1003]);
    expect(Buffer.from(h.entries.get(1001)!.data).toString('latin1')).toBe('a\0bc\0');
    expect(h.entries.get(1002)!.data).toEqual(u32(7, 9));
  });

  it('rejects a bad magic and non-zero reserved bytes', () => {
    const b = Buffer.from(buildHeader('main', BASE));
    b[0] = 0x8f;
    expect(codeOfSync(() => parse(b))).toBe('RPM_HEADER_MAGIC');
    const c = Buffer.from(buildHeader('main', BASE));
    c[5] = 1;
    expect(codeOfSync(() => parse(c))).toBe('RPM_HEADER_MAGIC');
  });

  it('rejects il or dl beyond the budget before allocating', () => {
    const b = Buffer.from(buildHeader('main', BASE));
    b.writeUInt32BE(0xffff, 8);
    expect(codeOfSync(() => parse(b, 'main', 4096))).toBe('RPM_TOO_LARGE');
    b.writeUInt32BE(0x10000, 8);
    expect(codeOfSync(() => parse(b))).toBe('RPM_HEADER_BOUNDS');
    const c = Buffer.from(buildHeader('main', BASE));
    c.writeUInt32BE(0xffffffff, 12);
    expect(codeOfSync(() => parse(c))).toBe('RPM_HEADER_BOUNDS');
    const d = Buffer.from(buildHeader('main', BASE));
    d.writeUInt32BE(0, 8);
    expect(codeOfSync(() => parse(d))).toBe('RPM_HEADER_BOUNDS');
  });

  it('rejects a missing or wrong region tag', () => {
    expect(codeOfSync(() => parse(buildHeader('main', BASE), 'signature'))).toBe('RPM_REGION_BAD');
    expect(codeOfSync(() => parse(patchIndex(buildHeader('main', BASE), 0, 1, 4)))).toBe('RPM_REGION_BAD');
    expect(codeOfSync(() => parse(patchIndex(buildHeader('main', BASE), 0, 3, 32)))).toBe('RPM_REGION_BAD');
    expect(codeOfSync(() => parse(patchIndex(buildHeader('main', BASE), 0, 2, 0)))).toBe('RPM_REGION_BAD');
  });

  it('rejects a region trailer that does not cover every entry (dribble)', () => {
    const b = Buffer.from(buildHeader('main', BASE));
    const trailer = b.length - 16;
    b.writeInt32BE(-(4 * 16), trailer + 8); // claims 4 of the 5 entries: the last one dribbles
    expect(codeOfSync(() => parse(b))).toBe('RPM_REGION_BAD');
    const c = Buffer.from(buildHeader('main', BASE));
    c.writeUInt32BE(62, c.length - 16);
    expect(codeOfSync(() => parse(c))).toBe('RPM_REGION_BAD');
  });

  it('names what is wrong with a region trailer', () => {
    const wrong = (at: number, value: number): Buffer => {
      const b = Buffer.from(buildHeader('main', BASE));
      b.writeInt32BE(value, b.length - 16 + at);
      return b;
    };
    expect(() => parse(wrong(0, 62))).toThrow('region trailer is wrong: its tag is 62, not 63');
    expect(() => parse(wrong(4, 4))).toThrow('region trailer is wrong: its type is 4, not BIN (7)');
    expect(() => parse(wrong(8, -64))).toThrow('region trailer is wrong: it covers 64 bytes of index, not the 5 entries (80 bytes)');
    expect(() => parse(wrong(12, 32))).toThrow('region trailer is wrong: its count is 32, not 16');
  });

  it('rejects unsorted and duplicated tags', () => {
    const swapped = [BASE[1]!, BASE[0]!, BASE[2]!, BASE[3]!];
    expect(codeOfSync(() => parse(buildHeader('main', swapped)))).toBe('RPM_HEADER_NOT_CANONICAL');
    const dup = [BASE[0]!, { ...BASE[0]!, data: str('other') }, BASE[2]!];
    expect(codeOfSync(() => parse(buildHeader('main', dup)))).toBe('RPM_HEADER_NOT_CANONICAL');
  });

  it('names two swapped index entries as out of order, not by the data offset the first one then misses', () => {
    const h = Buffer.from(buildHeader('main', BASE));
    // entries 1 and 2 (after the region tag) swap places in the index; the data stays where it was
    const first = 16 + 16 * 2;
    const second = first + 16;
    const copy = Buffer.from(h.subarray(first, second));
    h.copy(h, first, second, second + 16);
    copy.copy(h, second);
    expect(() => parse(h)).toThrow(/tag 1001 is out of order/);
  });

  it('rejects a tag of 2^31 or more, which rpm reads as negative, in either header', () => {
    for (const tag of [0x80000000, 0xfffffffe, 0xffffffff]) {
      for (const kind of ['main', 'signature'] as const) {
        const entries: RawEntry[] = [...BASE, { tag, type: 6, count: 1, data: str('a') }];
        expect(() => parse(buildHeader(kind, entries), kind)).toThrow(new RegExp(`tag ${tag} is above 2147483647, negative to rpm`));
        expect(codeOfSync(() => parse(buildHeader(kind, entries), kind))).toBe('RPM_HEADER_NOT_CANONICAL');
      }
    }
    // the highest tag rpm takes still parses
    expect([...parse(buildHeader('main', [...BASE, { tag: 0x7fffffff, type: 6, count: 1, data: str('a') }])).entries.keys()]).toContain(0x7fffffff);
  });

  it('rejects overlapping, gapped and misaligned data', () => {
    const h = buildHeader('main', BASE);
    expect(codeOfSync(() => parse(patchIndex(h, 2, 2, 0)))).toBe('RPM_HEADER_NOT_CANONICAL'); // overlaps tag 1000
    expect(codeOfSync(() => parse(patchIndex(h, 2, 2, 7)))).toBe('RPM_HEADER_NOT_CANONICAL'); // gap
    const mis = buildHeader('main', [{ tag: 1000, type: 6, count: 1, data: str('ab') }, { tag: 1001, type: 4, count: 1, data: u32(1) }]);
    expect(codeOfSync(() => parse(patchIndex(mis, 2, 2, 3)))).toBe('RPM_HEADER_NOT_CANONICAL'); // INT32 at offset 3
  });

  it('rejects non-zero alignment padding', () => {
    const h = Buffer.from(buildHeader('main', [{ tag: 1000, type: 6, count: 1, data: str('ab') }, { tag: 1001, type: 4, count: 1, data: u32(1) }]));
    h[storeStart(h) + 3] = 0x41;
    expect(codeOfSync(() => parse(h))).toBe('RPM_HEADER_NOT_CANONICAL');
  });

  it('rejects unterminated strings and string counts that do not fit', () => {
    const h = Buffer.from(buildHeader('main', [{ tag: 1000, type: 6, count: 1, data: str('abc') }]));
    h[storeStart(h) + 3] = 0x41; // the NUL becomes 'A': the string now runs into the trailer
    expect(codeOfSync(() => parse(h))).toBe('RPM_HEADER_BOUNDS');
    const arr = buildHeader('main', [{ tag: 1000, type: 4, count: 1, data: u32(1) }, { tag: 1001, type: 8, count: 2, data: str('a\0bc') }]);
    expect(codeOfSync(() => parse(patchIndex(arr, 2, 3, 3)))).toBe('RPM_HEADER_BOUNDS');
    expect(codeOfSync(() => parse(patchIndex(arr, 2, 3, 0xffffffff)))).toBe('RPM_HEADER_BOUNDS');
    expect(codeOfSync(() => parse(patchIndex(buildHeader('main', BASE), 1, 3, 2)))).toBe('RPM_HEADER_TYPE_BAD');
  });

  it('rejects a string array counting more strings than bytes left in the store as not fitting, before scanning it', () => {
    // 'a\0bc\0' is the last entry's data: 5 bytes before the trailer
    const arr = buildHeader('main', [{ tag: 1000, type: 4, count: 1, data: u32(1) }, { tag: 1001, type: 8, count: 2, data: str('a\0bc') }]);
    expect(() => parse(patchIndex(arr, 2, 3, 6))).toThrow(
      expect.objectContaining({ code: 'RPM_HEADER_BOUNDS', message: expect.stringContaining('tag 1001 count 6 does not fit in the store') as string }) as Error,
    );
    // one string per byte still fits the count; the scan then finds the third string unterminated
    expect(() => parse(patchIndex(arr, 2, 3, 5))).toThrow(
      expect.objectContaining({ code: 'RPM_HEADER_BOUNDS', message: expect.stringContaining('tag 1001 string 2 is not NUL-terminated inside the store') as string }) as Error,
    );
  });

  it('rejects an entry offset one past the last byte before the trailer as outside the store', () => {
    // BASE's data ends at offset 23, where the trailer starts; tag 1003's data is at 20
    const h = buildHeader('main', BASE);
    expect(() => parse(patchIndex(h, 4, 2, 24))).toThrow(
      expect.objectContaining({ code: 'RPM_HEADER_BOUNDS', message: expect.stringContaining('tag 1003 data at offset 24 is outside the 23 bytes of the store') as string }) as Error,
    );
    expect(() => parse(patchIndex(h, 4, 2, 23))).toThrow(
      expect.objectContaining({ code: 'RPM_HEADER_NOT_CANONICAL', message: expect.stringContaining('tag 1003 data at offset 23, expected 20') as string }) as Error,
    );
  });

  it('blames a string or an array that runs into the next tag\'s data on its own tag, not on the next one', () => {
    const strings = Buffer.from(buildHeader('main', [{ tag: 1000, type: 6, count: 1, data: str('ab') }, { tag: 1001, type: 4, count: 1, data: u32(1) }]));
    // the NUL and the padding become 'A': the string's first NUL is now inside tag 1001's data
    strings[storeStart(strings) + 2] = 0x41;
    strings[storeStart(strings) + 3] = 0x41;
    expect(() => parse(strings)).toThrow(
      expect.objectContaining({ code: 'RPM_HEADER_BOUNDS', message: expect.stringContaining("tag 1000 string 0 is not NUL-terminated before tag 1001's data at offset 4") as string }) as Error,
    );
    const ints = buildHeader('main', [{ tag: 1000, type: 4, count: 1, data: u32(1) }, { tag: 1001, type: 4, count: 1, data: u32(2) }]);
    expect(() => parse(patchIndex(ints, 1, 3, 2))).toThrow(
      expect.objectContaining({ code: 'RPM_HEADER_NOT_CANONICAL', message: expect.stringContaining("tag 1000's 2 values run into tag 1001's data at offset 4") as string }) as Error,
    );
  });

  it('rejects integer counts that overflow the store', () => {
    expect(codeOfSync(() => parse(patchIndex(buildHeader('main', BASE), 3, 3, 0x40000001)))).toBe('RPM_HEADER_BOUNDS');
    expect(codeOfSync(() => parse(patchIndex(buildHeader('main', BASE), 3, 3, 0xffffffff)))).toBe('RPM_HEADER_BOUNDS');
    expect(codeOfSync(() => parse(patchIndex(buildHeader('main', BASE), 3, 3, 0)))).toBe('RPM_HEADER_TYPE_BAD');
  });

  it('rejects an array of 2^20 values or more, which rpm cannot read, and takes one fewer and a BIN that long', () => {
    const count = 0x100000;
    const arrays: RawEntry[] = [
      { tag: 1000, type: 2, count, data: new Uint8Array(count) },
      { tag: 1000, type: 4, count, data: new Uint8Array(count * 4) },
      { tag: 1000, type: 8, count, data: new Uint8Array(count) },
    ];
    for (const entry of arrays) {
      expect(() => parse(buildHeader('main', [entry]), 'main', 1 << 23)).toThrow(
        expect.objectContaining({ code: 'RPM_HEADER_BOUNDS', message: expect.stringContaining(`tag 1000 has ${count} values; rpm reads at most ${count - 1}`) as string }) as Error,
      );
      const fewer = { ...entry, count: count - 1, data: entry.data.subarray(0, entry.data.length - entry.data.length / count) };
      expect(parse(buildHeader('main', [fewer]), 'main', 1 << 23).entries.get(1000)?.count).toBe(count - 1);
    }
    expect(parse(buildHeader('main', [{ tag: 1000, type: 7, count, data: new Uint8Array(count) }]), 'main', 1 << 23).entries.get(1000)?.count).toBe(count);
  });

  it('rejects unknown types and unused bytes in the store', () => {
    expect(codeOfSync(() => parse(patchIndex(buildHeader('main', BASE), 4, 1, 0)))).toBe('RPM_HEADER_TYPE_BAD');
    expect(codeOfSync(() => parse(patchIndex(buildHeader('main', BASE), 4, 1, 10)))).toBe('RPM_HEADER_TYPE_BAD');
    expect(codeOfSync(() => parse(patchIndex(buildHeader('main', BASE), 4, 3, 2)))).toBe('RPM_HEADER_NOT_CANONICAL');
  });
});
