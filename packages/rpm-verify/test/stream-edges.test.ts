import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHeader, parseHeaderIntro } from '../src/header/structure.ts';
import { createRpmVerifier } from '../src/verifier.ts';
import { fixtures, rpmAccepts, type Loaded } from './support/fixtures.ts';
import { buildHeader, patchIndex, readEntries, str, u32, u64, type RawEntry } from './support/header-builder.ts';
import { rebuild, splitPackage, type PackageParts } from './support/package-bytes.ts';
import { codeOfSync, NOW, outcome } from './support/verify-bytes.ts';

let fx: Loaded;
let rsa: PackageParts;
let rsaV3: PackageParts;
let edV3: PackageParts;
let dir: string;
beforeAll(async () => {
  fx = await fixtures();
  dir = await mkdtemp(join(tmpdir(), 'rpmv-edges-'));
  rsa = splitPackage(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-rsa')!.path));
  rsaV3 = splitPackage(await readFile(fx.set.rpmv3.find((p) => p.signer === 'trusted-rsa')!.path));
  edV3 = splitPackage(await readFile(fx.set.rpmv3.find((p) => p.signer === 'trusted-ed25519')!.path));
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});


const parse = (bytes: Uint8Array, budget = 1 << 20) => parseHeader(bytes, parseHeaderIntro(bytes.subarray(0, 16), 'main', budget, 'x.rpm'), 'main', 'x.rpm');
const setSize = (value: number) => (es: RawEntry[]) => es.map((e) => (e.tag === 1000 ? { ...e, data: u32(value) } : e));

describe('bounds arithmetic and per-type counts', () => {
  const base: RawEntry[] = [
    { tag: 1000, type: 6, count: 1, data: str('n') },
    { tag: 1001, type: 3, count: 2, data: Buffer.from([0, 1, 0, 2]) },
    { tag: 1002, type: 5, count: 1, data: u64(7n) },
    { tag: 1003, type: 9, count: 2, data: str('a\0b') },
  ];

  it('accepts the canonical layout with INT16, INT64 and I18NSTRING entries', () => {
    expect([...parse(buildHeader('main', base)).entries.keys()]).toEqual([1000, 1001, 1002, 1003]);
  });

  it('rejects entry offsets near 2^32 as outside the store and counts whose byte size would wrap 32 bits', () => {
    const h = buildHeader('main', base);
    for (const offset of [0xfffffff0, 0xffffffff, 0x80000000]) expect(codeOfSync(() => parse(patchIndex(h, 2, 2, offset)))).toBe('RPM_HEADER_BOUNDS');
    expect(codeOfSync(() => parse(patchIndex(h, 2, 3, 0x80000001)))).toBe('RPM_HEADER_BOUNDS'); // INT16: 2*count wraps to 2
    expect(codeOfSync(() => parse(patchIndex(h, 3, 3, 0x20000001)))).toBe('RPM_HEADER_BOUNDS'); // INT64: 8*count wraps to 8
    expect(codeOfSync(() => parse(patchIndex(h, 3, 3, 2)))).toBe('RPM_HEADER_BOUNDS');
    expect(codeOfSync(() => parse(patchIndex(h, 4, 3, 3)))).toBe('RPM_HEADER_BOUNDS'); // one I18N string more than stored
    expect(codeOfSync(() => parse(patchIndex(h, 4, 3, 1)))).toBe('RPM_HEADER_NOT_CANONICAL'); // one fewer: unused bytes
  });

  it('rejects a region entry or trailer offset that is off, positive or wraps', () => {
    const h = Buffer.from(buildHeader('main', base));
    expect(codeOfSync(() => parse(patchIndex(h, 0, 2, 0xfffffff0)))).toBe('RPM_REGION_BAD');
    const trailerAt = h.length - 16;
    for (const v of [5 * 16, -(5 * 16) - 16, -(5 * 16) + 16, 0]) {
      const t = Buffer.from(h);
      t.writeInt32BE(v, trailerAt + 8);
      expect(codeOfSync(() => parse(t))).toBe('RPM_REGION_BAD');
    }
  });

  it('checks il*16+dl against the budget before allocating, with no wrap at the largest values', () => {
    const intro = Buffer.from(buildHeader('main', base).subarray(0, 16));
    intro.writeUInt32BE(0xffff, 8);
    intro.writeUInt32BE(0x0fffffff, 12);
    const parsed = parseHeaderIntro(intro, 'main', Number.MAX_SAFE_INTEGER, 'x.rpm');
    expect(parsed.totalBytes).toBe(16 + 0xffff * 16 + 0x0fffffff);
    expect(codeOfSync(() => parseHeaderIntro(intro, 'main', 32 * 1024 * 1024, 'x.rpm'))).toBe('RPM_TOO_LARGE');
    intro.writeUInt32BE(0x10000000, 12);
    expect(codeOfSync(() => parseHeaderIntro(intro, 'main', Number.MAX_SAFE_INTEGER, 'x.rpm'))).toBe('RPM_HEADER_BOUNDS');
  });

  it('rejects a STRING_ARRAY whose last string runs into the trailer', () => {
    const h = Buffer.from(buildHeader('main', [{ tag: 1000, type: 8, count: 2, data: str('a\0b') }]));
    h[16 + 2 * 16 + 3] = 0x41;
    expect(codeOfSync(() => parse(h))).toBe('RPM_HEADER_BOUNDS');
  });
});

describe('sizes, signatures and the stream', () => {
  it('rejects a SIZE that counts fewer bytes than sent (trailing data) or more (truncation)', async () => {
    const real = rsa.mainHeader.length + rsa.payload.length;
    expect(await outcome(rebuild(rsa, { keepSize: true, sig: setSize(real - 1) }), fx.trusted)).toBe('RPM_TRAILING_DATA');
    expect(await outcome(rebuild(rsa, { keepSize: true, sig: setSize(real + 1) }), fx.trusted)).toBe('RPM_TRUNCATED');
    expect(await outcome(rebuild(rsa, { keepSize: true, sig: setSize(0xffffffff) }), fx.trusted)).toBe('RPM_TOO_LARGE'); // announced beyond the 4 GiB default
  });

  it('takes the sizes only in the form rpm writes them: SIZE with PAYLOADSIZE below 4 GiB, never a pair split, both or neither', async () => {
    const real = BigInt(rsa.mainHeader.length + rsa.payload.length);
    const long: RawEntry = { tag: 270, type: 5, count: 1, data: u64(real) };
    const payload = readEntries(rsa.sigHeader, 'signature').find((e) => e.tag === 1007)!;
    const longPayload: RawEntry = { tag: 271, type: 5, count: 1, data: u64(BigInt(Buffer.from(payload.data).readUInt32BE(0))) };
    const sort = (es: RawEntry[]) => [...es].sort((a, b) => a.tag - b.tag);
    const cases: [string, (es: RawEntry[]) => RawEntry[]][] = [
      ['LONGSIZE beside PAYLOADSIZE', (es) => sort([...es.filter((e) => e.tag !== 1000), long])],
      ['the 64-bit pair for a small package', (es) => sort([...es.filter((e) => e.tag !== 1000 && e.tag !== 1007), long, longPayload])],
      ['SIZE and LONGSIZE', (es) => sort([...es, long])],
      ['no SIZE at all', (es) => es.filter((e) => e.tag !== 1000)],
      ['no PAYLOADSIZE', (es) => es.filter((e) => e.tag !== 1007)],
      ['PAYLOADSIZE and LONGARCHIVESIZE', (es) => sort([...es, longPayload])],
      ['a huge LONGSIZE', (es) => sort([...es.filter((e) => e.tag !== 1000 && e.tag !== 1007), { ...long, data: u64(1n << 60n) }, longPayload])],
    ];
    for (const [what, sig] of cases) expect([what, await outcome(rebuild(rsa, { sig }), fx.trusted)]).toEqual([what, 'RPM_SIG_TAG_BAD']);
    // each a re-encoding rpm itself accepts
    expect(await rpmAccepts(dir, rebuild(rsa, { sig: cases[1]![1] }), 'long-pair.rpm')).toBe(true);
    expect(await rpmAccepts(dir, rebuild(rsa, { sig: cases[4]![1] }), 'no-payloadsize.rpm')).toBe(true);
  });

  it('rejects a bad header signature next to a good legacy one, and both legacy tags at once', async () => {
    const badHeader = rebuild(rsaV3, { sig: (es) => es.map((e) => (e.tag === 268 ? { ...e, data: flipLast(e.data) } : e)) });
    expect(await outcome(badHeader, fx.trusted)).toBe('RPM_SIG_BAD');
    const gpg = readEntries(edV3.sigHeader, 'signature').find((e) => e.tag === 1005)!;
    const bothLegacy = rebuild(rsaV3, { sig: (es) => [...es, gpg].sort((a, b) => a.tag - b.tag) });
    expect(await outcome(bothLegacy, fx.trusted)).toBe('RPM_SIG_MULTIPLE');
  });

  it('enforces the size caps given by the caller', () => {
    const v = createRpmVerifier(fx.trusted, { now: NOW, maxPackageBytes: rsa.bytes.length - 1 }, 'cap.rpm');
    expect(codeOfSync(() => v.write(rsa.bytes))).toBe('RPM_TOO_LARGE');
    const w = createRpmVerifier(fx.trusted, { now: NOW, maxHeaderBytes: rsa.sigHeader.length + 100 }, 'cap.rpm');
    expect(codeOfSync(() => w.write(rsa.bytes))).toBe('RPM_TOO_LARGE');
    const x = createRpmVerifier(fx.trusted, { now: NOW, maxPackageBytes: rsa.payloadStart + 10 }, 'cap.rpm');
    expect(codeOfSync(() => x.write(rsa.bytes.subarray(0, rsa.mainStart)))).toBe('RPM_TOO_LARGE');
  });

  it('holds a package to its cap to the byte: exactly at it passes, one over fails as soon as it shows', async () => {
    const at = createRpmVerifier(fx.trusted, { now: NOW, maxPackageBytes: rsa.bytes.length }, 'cap.rpm');
    at.write(rsa.bytes);
    expect((await at.finish()).size).toBe(rsa.bytes.length);
    // the SIZE in the signature header already says the file is one byte over
    const announced = createRpmVerifier(fx.trusted, { now: NOW, maxPackageBytes: rsa.bytes.length - 1 }, 'cap.rpm');
    expect(codeOfSync(() => announced.write(rsa.bytes.subarray(0, rsa.mainStart)))).toBe('RPM_TOO_LARGE');
    // before any header is read, the byte count alone
    const counted = createRpmVerifier(fx.trusted, { now: NOW, maxPackageBytes: 100 }, 'cap.rpm');
    expect(codeOfSync(() => counted.write(rsa.bytes.subarray(0, 100)))).toBe('ACCEPTED');
    expect(codeOfSync(() => counted.write(rsa.bytes.subarray(100, 101)))).toBe('RPM_TOO_LARGE');
  });

  it('refuses a cap of 0, a negative or fractional one, as the caller\'s error', () => {
    for (const value of [0, -1, 1.5, Number.NaN]) {
      expect([value, codeOfSync(() => createRpmVerifier(fx.trusted, { now: NOW, maxPackageBytes: value }))]).toEqual([value, 'RPM_STATE']);
      expect([value, codeOfSync(() => createRpmVerifier(fx.trusted, { now: NOW, maxHeaderBytes: value }))]).toEqual([value, 'RPM_STATE']);
    }
  });

  it('refuses use after failure or after finish', async () => {
    const v = createRpmVerifier(fx.trusted, { now: NOW }, 'state.rpm');
    expect(codeOfSync(() => v.write(Buffer.alloc(200, 0x41)))).toBe('RPM_BAD_LEAD');
    expect(codeOfSync(() => v.write(rsa.bytes))).toBe('RPM_BAD_LEAD');
    await expect(v.finish()).rejects.toMatchObject({ code: 'RPM_BAD_LEAD' });
    const w = createRpmVerifier(fx.trusted, { now: NOW }, 'state.rpm');
    w.write(rsa.bytes);
    await w.finish();
    expect(codeOfSync(() => w.write(new Uint8Array(1)))).toBe('RPM_STATE');
    await expect(w.finish()).rejects.toMatchObject({ code: 'RPM_STATE' });
  });

  it('never changes a verdict with the chunking, on good and hostile inputs', async () => {
    const corpus = [
      rsa.bytes,
      rsaV3.bytes,
      edV3.bytes,
      rebuild(rsa, { keepSize: true, sig: setSize(rsa.mainHeader.length + rsa.payload.length - 1) }),
      Buffer.concat([rsa.bytes, Buffer.from([0])]),
      rsa.bytes.subarray(0, rsa.payloadStart + 3),
      flipAt(rsa.bytes, rsa.mainStart - 1),
      flipAt(rsa.bytes, rsa.payloadStart - 40),
      flipAt(edV3.bytes, edV3.bytes.length - 2),
    ];
    const whole = await Promise.all(corpus.map((b) => outcome(b, fx.trusted)));
    expect(new Set(whole).size).toBeGreaterThan(4);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: corpus.length - 1 }), fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }), async (i, chunks) => {
        expect(await outcome(corpus[i]!, fx.trusted, chunks)).toBe(whole[i]);
      }),
      { numRuns: 150, seed: 7 },
    );
  }, 60_000);
});

function flipLast(data: Uint8Array): Buffer {
  return flipAt(data, data.length - 3);
}

function flipAt(data: Uint8Array, at: number): Buffer {
  const b = Buffer.from(data);
  b[at] = (b[at] ?? 0) ^ 0x01;
  return b;
}
