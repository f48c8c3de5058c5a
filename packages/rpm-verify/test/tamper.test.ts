import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, rpmAccepts, type Loaded } from './support/fixtures.ts';
import { readEntries, u32, type RawEntry } from './support/header-builder.ts';
import { rebuild, splitPackage, type PackageParts } from './support/package-bytes.ts';
import { createRpmVerifier } from '../src/verifier.ts';
import { codeOf, NOW, outcome, verifyBytes } from './support/verify-bytes.ts';

let fx: Loaded;
let rsa: PackageParts;
let ed: PackageParts;
let rsaV3: PackageParts;
let dir: string;
beforeAll(async () => {
  fx = await fixtures();
  rsa = splitPackage(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-rsa')!.path));
  ed = splitPackage(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-ed25519')!.path));
  rsaV3 = splitPackage(await readFile(fx.set.rpmv3.find((p) => p.signer === 'trusted-rsa')!.path));
  dir = await mkdtemp(join(tmpdir(), 'rpm-verify-tamper-'));
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});


function flip(bytes: Uint8Array, at: number, mask = 0x01): Buffer {
  const b = Buffer.from(bytes);
  b[at] = (b[at] ?? 0) ^ mask;
  return b;
}

const sortByTag = (entries: RawEntry[]) => [...entries].sort((a, b) => a.tag - b.tag);
const without = (...tags: number[]) => (entries: RawEntry[]) => entries.filter((e) => !tags.includes(e.tag));
const entry = (entries: RawEntry[], tag: number) => entries.find((e) => e.tag === tag)!;

describe('tampered real packages', () => {
  it('rebuilding an untouched package is byte-identical (the test helper is faithful)', () => {
    expect(rebuild(rsa, {}).equals(rsa.bytes)).toBe(true);
    expect(rebuild(rsaV3, {}).equals(rsaV3.bytes)).toBe(true);
  });

  it('rejects a changed main-header byte', async () => {
    const b = flip(rsa.bytes, rsa.payloadStart - 40);
    expect(await outcome(b, fx.trusted)).toBe('RPM_DIGEST_MISMATCH');
    expect(await rpmAccepts(dir, b, 'hdr.rpm')).toBe(false);
  });

  it('rejects a changed main header even with the header digests stripped: the signature fails', async () => {
    const parts = splitPackage(flip(rsa.bytes, rsa.payloadStart - 40));
    const b = rebuild(parts, { sig: without(269, 273) });
    expect(await outcome(b, fx.trusted)).toBe('RPM_SIG_BAD');
  });

  it('rejects a changed payload byte, appended bytes and truncation anywhere', async () => {
    expect(await outcome(flip(rsa.bytes, rsa.bytes.length - 1), fx.trusted)).toBe('RPM_PAYLOAD_MISMATCH');
    expect(await outcome(flip(ed.bytes, ed.payloadStart + 10), fx.trusted)).toBe('RPM_PAYLOAD_MISMATCH');
    expect(await outcome(Buffer.concat([rsa.bytes, Buffer.from([0])]), fx.trusted)).toBe('RPM_TRAILING_DATA');
    // refused at the first chunk past the end, the rest unread: the count says "at least"
    const appended = Buffer.concat([rsa.bytes, Buffer.alloc(4096)]);
    await expect(verifyBytes(appended, fx.trusted, [rsa.bytes.length + 100, 3996])).rejects.toMatchObject({
      code: 'RPM_TRAILING_DATA',
      message: expect.stringContaining("at least 100 byte(s) after the end given by the signature header's size") as string,
    });
    for (const cut of [0, 50, 100, rsa.mainStart - 1, rsa.mainStart + 20, rsa.payloadStart, rsa.bytes.length - 1]) {
      expect(await outcome(rsa.bytes.subarray(0, cut), fx.trusted)).toBe('RPM_TRUNCATED');
    }
  });

  it('says in words where a truncated file ends, not in parser states', async () => {
    const messageAt = async (cut: number): Promise<string> =>
      verifyBytes(rsa.bytes.subarray(0, cut), fx.trusted).then(
        () => 'ACCEPTED',
        (error: unknown) => (error as Error).message,
      );
    expect(await messageAt(50)).toBe('test.rpm: RPM_TRUNCATED: file ends after 50 bytes in the lead');
    expect(await messageAt(100)).toBe("test.rpm: RPM_TRUNCATED: file ends after 100 bytes in the signature header's intro");
    expect(await messageAt(120)).toBe("test.rpm: RPM_TRUNCATED: file ends after 120 bytes in the signature header's index or data");
    expect(await messageAt(rsa.mainStart + 8)).toBe(`test.rpm: RPM_TRUNCATED: file ends after ${rsa.mainStart + 8} bytes in the main header's intro`);
    expect(await messageAt(rsa.mainStart + 20)).toBe(`test.rpm: RPM_TRUNCATED: file ends after ${rsa.mainStart + 20} bytes in the main header's index or data`);
    expect(await messageAt(rsa.payloadStart + 1)).toBe(
      `test.rpm: RPM_TRUNCATED: file ends after ${rsa.payloadStart + 1} bytes in the payload, short of the ${rsa.bytes.length} bytes the signature header's size declares`,
    );
  });

  it('names the declared size when a whole file ends before the SIZE its signature header claims', async () => {
    const raised = rebuild(rsa, { keepSize: true, sig: (es) => es.map((e) => (e.tag === 1000 ? { ...e, data: u32(Buffer.from(e.data).readUInt32BE(0) + 1) } : e)) });
    const message = await verifyBytes(raised, fx.trusted).then(
      () => 'ACCEPTED',
      (error: unknown) => (error as Error).message,
    );
    expect(message).toBe(`test.rpm: RPM_TRUNCATED: file ends after ${raised.length} bytes in the payload, short of the ${raised.length + 1} bytes the signature header's size declares`);
  });

  it('rejects a bad legacy header+payload signature even though the header signature is good', async () => {
    const parts = splitPackage(rsaV3.bytes);
    const b = rebuild(parts, {
      sig: (es) => es.map((e) => (e.tag === 1002 ? { ...e, data: flip(e.data, e.data.length - 3) } : e)),
    });
    expect(await outcome(b, fx.trusted)).toBe('RPM_SIG_BAD');
    expect(await rpmAccepts(dir, b, 'v3bad.rpm')).toBe(false);
  });

  it('rejects a removed or renamed header signature', async () => {
    expect(await outcome(rebuild(rsa, { sig: without(268) }), fx.trusted)).toBe('RPM_UNSIGNED');
    const renamed = rebuild(rsa, { sig: (es) => sortByTag(es.map((e) => (e.tag === 268 ? { ...e, tag: 266 } : e))) });
    expect(await outcome(renamed, fx.trusted)).toBe('RPM_SIG_TAG_NOT_ALLOWED');
  });

  it('rejects signature tags in the main header (QSB-067)', async () => {
    const sig = entry(splitSig(rsa), 268);
    // the header digests (unsigned) go too, as an attacker would drop them: with them left in, the
    // changed main header is a digest mismatch before it is parsed
    const noDigests = without(269, 273);
    const b = rebuild(rsa, { sig: noDigests, main: (es) => sortByTag([...es, { ...sig }]) });
    expect(await outcome(b, fx.trusted)).toBe('RPM_SIG_IN_MAIN_HEADER');
    expect(await outcome(rebuild(rsa, { main: (es) => sortByTag([...es, { ...sig }]) }), fx.trusted)).toBe('RPM_DIGEST_MISMATCH');
    const moved = rebuild(rsa, { sig: (es) => without(268)(noDigests(es)), main: (es) => sortByTag([...es, { ...sig }]) });
    expect(await outcome(moved, fx.trusted)).toBe('RPM_UNSIGNED');
    const digest = rebuild(rsa, { sig: noDigests, main: (es) => sortByTag([...es, { ...entry(splitSig(rsa), 273) }]) });
    expect(await outcome(digest, fx.trusted)).toBe('RPM_SIG_IN_MAIN_HEADER');
  });

  it('reports a main header changed on the way as a digest mismatch, whatever the change breaks', async () => {
    const setString = (tag: number, value: string) => (es: RawEntry[]) =>
      es.map((e) => (e.tag === tag ? { ...e, data: Buffer.from(`${value}\0`), count: 1 } : e));
    // checked against SHA256HEADER before it is parsed: not blamed on the field the change broke
    expect(await outcome(rebuild(rsa, { main: setString(1001, '2-0') }), fx.trusted)).toBe('RPM_DIGEST_MISMATCH');
    expect(await outcome(rebuild(rsa, { main: setString(1124, 'Cpio') }), fx.trusted)).toBe('RPM_DIGEST_MISMATCH');
    // without the digests the parser names the broken field, and the signature would fail after it
    const noDigests = without(269, 273);
    expect(await outcome(rebuild(rsa, { sig: noDigests, main: setString(1001, '2-0') }), fx.trusted)).toBe('RPM_NEVRA_BAD');
    expect(await outcome(rebuild(rsa, { sig: noDigests, main: setString(1124, 'Cpio') }), fx.trusted)).toBe('RPM_PAYLOAD_FORMAT');
  });

  it('rejects a signature whose algorithm does not match its tag', async () => {
    const asDsa = rebuild(rsa, { sig: (es) => sortByTag(es.map((e) => (e.tag === 268 ? { ...e, tag: 267 } : e))) });
    expect(await outcome(asDsa, fx.trusted)).toBe('RPM_SIG_ALGO_MISMATCH');
    const asRsa = rebuild(ed, { sig: (es) => sortByTag(es.map((e) => (e.tag === 267 ? { ...e, tag: 268 } : e))) });
    expect(await outcome(asRsa, fx.trusted)).toBe('RPM_SIG_ALGO_MISMATCH');
  });

  it('rejects a signature blob with trailing bytes or a second packet', async () => {
    const grow = (extra: (d: Uint8Array) => Uint8Array) => (es: RawEntry[]) =>
      es.map((e) => (e.tag === 268 ? { ...e, data: extra(e.data), count: extra(e.data).length } : e));
    expect(await outcome(rebuild(rsa, { sig: grow((d) => Buffer.concat([d, Buffer.from([0])])) }), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    expect(await outcome(rebuild(rsa, { sig: grow((d) => Buffer.concat([d, d])) }), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
  });

  it('rejects both RSAHEADER and DSAHEADER at once', async () => {
    const edSig = entry(splitSig(ed), 267);
    expect(await outcome(rebuild(rsa, { sig: (es) => sortByTag([...es, edSig]) }), fx.trusted)).toBe('RPM_SIG_MULTIPLE');
  });

  it('rejects a bad MD5 and a bad SHA1HEADER, as rpm does', async () => {
    const md5 = rebuild(rsa, { sig: (es) => es.map((e) => (e.tag === 1004 ? { ...e, data: flip(e.data, 0) } : e)) });
    expect(await outcome(md5, fx.trusted)).toBe('RPM_DIGEST_MISMATCH');
    expect(await rpmAccepts(dir, md5, 'md5.rpm')).toBe(false);
    const sha1 = rebuild(rsa, { sig: (es) => es.map((e) => (e.tag === 269 ? { ...e, data: Buffer.from(`${'0'.repeat(40)}\0`) } : e)) });
    expect(await outcome(sha1, fx.trusted)).toBe('RPM_DIGEST_MISMATCH');
  });

  it('rejects a SHA1HEADER or SHA256HEADER that is not its length of lowercase hex digits, as a bad tag rather than a mismatch', async () => {
    const hexOf = (d: Uint8Array) => Buffer.from(d).toString('latin1').replace(/\0$/, '');
    const withHex = (tag: number, edit: (value: string) => string) =>
      rebuild(rsa, { sig: (es) => es.map((e) => (e.tag === tag ? { ...e, data: Buffer.from(`${edit(hexOf(e.data))}\0`, 'latin1') } : e)) });
    for (const tag of [269, 273]) {
      for (const edit of [(v: string) => v.toUpperCase(), (v: string) => v.slice(0, -1), (v: string) => `${v.slice(0, -1)}g`]) {
        expect([tag, await outcome(withHex(tag, edit), fx.trusted)]).toEqual([tag, 'RPM_SIG_TAG_BAD']);
      }
    }
  });

  it('rejects an MD5 (1004) that is not 16 bytes, also when the MD5 itself is not checked', async () => {
    for (const edit of [(d: Uint8Array) => Buffer.concat([d, Buffer.from([0])]), (d: Uint8Array) => d.subarray(0, 15)]) {
      const bytes = rebuild(rsa, { sig: (es) => es.map((e) => (e.tag === 1004 ? { ...e, count: edit(e.data).length, data: edit(e.data) } : e)) });
      expect(await outcome(bytes, fx.trusted)).toBe('RPM_SIG_TAG_BAD');
      const unchecked = createRpmVerifier(fx.trusted, { now: NOW, checkLegacyMd5: false }, 'md5.rpm');
      expect(await codeOf((async () => {
        unchecked.write(bytes);
        return unchecked.finish();
      })())).toBe('RPM_SIG_TAG_BAD');
    }
  });

  it('rejects a signature header stripped of every digest, as rpm does, and accepts one digest left', async () => {
    const none = rebuild(rsa, { sig: without(269, 273, 1004) });
    expect(await outcome(none, fx.trusted)).toBe('RPM_HEADER_DIGEST_MISSING');
    expect(await rpmAccepts(dir, none, 'nodigest.rpm')).toBe(false);
    const noneV3 = rebuild(rsaV3, { sig: without(269, 273, 1004) });
    expect(await outcome(noneV3, fx.trusted)).toBe('RPM_HEADER_DIGEST_MISSING');
    for (const kept of [269, 273, 1004]) {
      const one = rebuild(rsa, { sig: without(...[269, 273, 1004].filter((t) => t !== kept)) });
      expect(await outcome(one, fx.trusted)).toBe('ACCEPTED');
      expect(await rpmAccepts(dir, one, `only-${kept}.rpm`)).toBe(true);
    }
  });

  it('rejects a package without a payload digest', async () => {
    const b = rebuild(rsa, { main: without(5092, 5093), sig: without(269, 273) });
    expect(await outcome(b, fx.trusted)).toBe('RPM_PAYLOAD_DIGEST_MISSING');
  });

  it('rejects a SIZE that does not match the bytes', async () => {
    const b = rebuild(rsa, { keepSize: true, sig: (es) => es.map((e) => (e.tag === 1000 ? { ...e, data: u32(99) } : e)) });
    expect(await outcome(b, fx.trusted)).toBe('RPM_SIZE_MISMATCH');
  });

  it('rejects a SIZE one byte short of the main header as soon as the main header\'s length is known', async () => {
    const sized = (value: number) => rebuild(rsa, { keepSize: true, sig: (es) => es.map((e) => (e.tag === 1000 ? { ...e, data: u32(value) } : e)) });
    await expect(verifyBytes(sized(rsa.mainHeader.length - 1), fx.trusted)).rejects.toMatchObject({ code: 'RPM_SIZE_MISMATCH', message: expect.stringContaining(`is larger than SIZE (${String(rsa.mainHeader.length - 1)})`) as string });
    // SIZE exactly the main header passes that check, and fails later on the payload that follows
    expect(await outcome(sized(rsa.mainHeader.length), fx.trusted)).toBe('RPM_TRAILING_DATA');
  });

  it('says the padding after the signature header is short when the main header starts inside it', async () => {
    expect(rsa.pad.length).toBeGreaterThan(0);
    // a writer that forgot the padding: the main header right after the signature header
    const unpadded = Buffer.concat([rsa.bytes.subarray(0, rsa.mainStart - rsa.pad.length), rsa.bytes.subarray(rsa.mainStart)]);
    await expect(verifyBytes(unpadded, fx.trusted)).rejects.toMatchObject({
      code: 'RPM_SIG_PADDING',
      message: expect.stringContaining(`padding after the signature header is ${String(rsa.pad.length)} byte(s) short of the ${String(rsa.pad.length)} needed to align the main header to 8 bytes: its magic starts at padding byte 0`) as string,
    });
  });

  it('rejects the malleable forms rpm 4.18 still accepts, each with a named reason', async () => {
    const padded = Buffer.from(rsa.bytes);
    expect(rsa.pad.length).toBeGreaterThan(0);
    padded[rsa.mainStart - 1] = 0x55;
    await expect(verifyBytes(padded, fx.trusted)).rejects.toMatchObject({ code: 'RPM_SIG_PADDING', message: expect.stringMatching(/padding after the signature header is not zero \(byte \d of \d is 0x55\)/) as string });
    expect(await rpmAccepts(dir, padded, 'pad.rpm')).toBe(true);

    const reserved = rebuild(rsa, { sig: (es) => es.map((e) => (e.tag === 1008 ? { ...e, data: flip(e.data, 5, 0xff) } : e)) });
    expect(await outcome(reserved, fx.trusted)).toBe('RPM_RESERVED_SPACE_NOT_ZERO');
    expect(await rpmAccepts(dir, reserved, 'reserved.rpm')).toBe(true);

    for (const [bytes, expected] of [[65536, 'ACCEPTED'], [65537, 'RPM_RESERVED_SPACE_TOO_LARGE'], [8 << 20, 'RPM_RESERVED_SPACE_TOO_LARGE']] as const) {
      const grown = rebuild(rsa, { sig: (es) => es.map((e) => (e.tag === 1008 ? { ...e, data: new Uint8Array(bytes), count: bytes } : e)) });
      expect(await outcome(grown, fx.trusted)).toBe(expected);
      expect(await rpmAccepts(dir, grown, `reserved-${bytes}.rpm`)).toBe(true);
    }

    const dup = rebuild(rsa, { sig: (es) => [...es, entry(es, 1000)] });
    expect(await outcome(dup, fx.trusted)).toBe('RPM_HEADER_NOT_CANONICAL');

    const leadName = flip(rsa.bytes, 12);
    expect(await outcome(leadName, fx.trusted)).toBe('RPM_LEAD_NAME_MISMATCH');
    expect(await rpmAccepts(dir, leadName, 'lead.rpm')).toBe(true);
  });

  it('blames a name changed in the main header on the header digest, not on the lead', async () => {
    const renamed = rebuild(rsa, {
      main: (es) => es.map((e) => (e.tag === 1000 ? { ...e, data: flip(e.data, 0, 0x20) } : e)),
    });
    expect(await outcome(renamed, fx.trusted)).toBe('RPM_DIGEST_MISMATCH');
  });

  it('rejects a bad lead', async () => {
    expect(await outcome(flip(rsa.bytes, 0), fx.trusted)).toBe('RPM_BAD_LEAD');
    expect(await outcome(flip(rsa.bytes, 7), fx.trusted)).toBe('RPM_BAD_LEAD'); // type: source
    await expect(verifyBytes(flip(rsa.bytes, 7), fx.trusted)).rejects.toThrow('lead type is source (1), not binary (0)');
    await expect(verifyBytes(flip(rsa.bytes, 6, 0x01), fx.trusted)).rejects.toThrow('lead type is 256, not binary (0)');
    expect(await outcome(flip(rsa.bytes, 79), fx.trusted)).toBe('RPM_BAD_LEAD'); // signature type
    expect(await outcome(flip(rsa.bytes, 90), fx.trusted)).toBe('RPM_BAD_LEAD'); // reserved
  });

  it('rejects a lead arch or os number rpm never writes, which rpm accepts', async () => {
    const withNumbers = (arch: number, os: number) => {
      const b = Buffer.from(rsa.bytes);
      b.writeUInt16BE(arch, 8);
      b.writeUInt16BE(os, 76);
      return b;
    };
    // unknown arch numbers (10 is unassigned, 25 past the table, 256 and up never fit), another OS, 0 with Linux
    for (const [arch, os] of [[10, 1], [25, 1], [254, 1], [256, 1], [257, 1], [0x8001, 1], [0, 1], [1, 0], [1, 2], [1, 0x101], [255, 0], [0, 255]] as const) {
      expect([arch, os, await outcome(withNumbers(arch, os), fx.trusted)]).toEqual([arch, os, 'RPM_BAD_LEAD']);
    }
    expect(await rpmAccepts(dir, withNumbers(10, 7), 'lead-arch.rpm')).toBe(true);
  });

  it('accepts every arch number rpm writes (x86 1, aarch64 19, noarch 255 under mock...) with Linux, and rpm 6 zeros', async () => {
    expect([rsa.bytes.readUInt16BE(8), rsa.bytes.readUInt16BE(76)]).toEqual([1, 1]);
    for (const [arch, os] of [[1, 1], [19, 1], [16, 1], [15, 1], [24, 1], [255, 1], [0, 0]] as const) {
      const b = Buffer.from(rsa.bytes);
      b.writeUInt16BE(arch, 8);
      b.writeUInt16BE(os, 76);
      expect([arch, os, await outcome(b, fx.trusted)]).toEqual([arch, os, 'ACCEPTED']);
    }
  });
});

function splitSig(parts: PackageParts): RawEntry[] {
  return readEntries(parts.sigHeader, 'signature');
}
