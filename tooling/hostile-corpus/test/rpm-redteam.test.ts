import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpmkeysCheck, type KeyId } from '@dom0-updates/fixtures';
import {
  archive, concatBytes, cString, headerBlob, int32s, itemsOf, joinRpm, layoutHeader, member, openCorpus, rawControlProblems, rawHeaderBlob,
  sortItems, splitRpm, TYPE, withFreshDigests, type Corpus, type Item,
} from '../src/index.ts';
import { gpgDetachSign, type DetachedSignOptions } from '../src/rpm/gpg-sign.ts';
import { newFormatLongSignature, oldFormatSignature, splitPacket, withBodyByte } from '../src/rpm/pgp-packet.ts';
import { refuseEverywhere } from './rpm-run.ts';
import type { RpmCase } from './support.ts';

/**
 * An outside examiner's cases: signatures made by gpg itself over headers we lay out (so a
 * policy rule, not a broken signature, is what must refuse them), and sweeps over every byte.
 */
let corpus: Corpus;
let hello: Uint8Array;
let tool: Uint8Array;
let v1Hello: Uint8Array;
/** trusted-rsa's real header signature over hello's unchanged main header. */
let good: Uint8Array;
const NAME = 'dom0-hello-2.0-1.noarch.rpm';
const TOOL = 'dom0-tool-2.0-1.noarch.rpm';

beforeAll(async () => {
  corpus = await openCorpus('rpm-redteam');
  const [h, , t] = corpus.fx.packages.v2;
  const v1 = corpus.fx.packages.v1[0];
  if (h?.fileName !== NAME || t?.fileName !== TOOL || t.signer !== 'trusted-ed25519' || v1 === undefined) throw new Error('fixture set changed');
  [hello, tool, v1Hello] = await Promise.all([h, t, v1].map(async (p) => new Uint8Array(await readFile(p.path)))) as [Uint8Array, Uint8Array, Uint8Array];
  good = await sign(mainOf(hello), 'trusted-rsa');
});
afterAll(async () => corpus.close());

function mainOf(bytes: Uint8Array): Uint8Array {
  return rawHeaderBlob(splitRpm(bytes).main);
}
async function sign(data: Uint8Array, key: KeyId, options: DetachedSignOptions = {}): Promise<Uint8Array> {
  return gpgDetachSign(data, corpus.fx.keys[key], options);
}
function sigItem(tag: number, blob: Uint8Array): Item {
  return { tag, type: TYPE.BIN, count: blob.length, value: blob };
}
/** `base` with main header `main`, its signature header rebuilt with fresh digests and `sigs`. */
function assemble(base: Uint8Array, main: Uint8Array, sigs: Item[], edit: (items: Item[]) => Item[] = (i) => i): Uint8Array {
  const p = splitRpm(base);
  const fresh = splitRpm(withFreshDigests(p, main));
  return joinRpm({ lead: p.lead, sig: layoutHeader(62, edit(sortItems([...itemsOf(fresh.sig), ...sigs]))), main, payload: p.payload });
}
/** The signature items (267, 268, 1002, 1005) `bytes` carries, to put back after `assemble`'s fresh digests. */
function signaturesOf(bytes: Uint8Array): Item[] {
  return itemsOf(splitRpm(bytes).sig).filter((i) => [267, 268, 1002, 1005].includes(i.tag));
}
/** hello with these header (and legacy) signatures over its unchanged main header. */
function helloWith(...sigs: Item[]): Uint8Array {
  return assemble(hello, mainOf(hello), sigs);
}
function headerAndPayload(bytes: Uint8Array): Uint8Array {
  const p = splitRpm(bytes);
  return concatBytes([rawHeaderBlob(p.main), p.payload]);
}
/** hello's main header edited, then validly signed by trusted-rsa (and the legacy 1002 too if asked). */
async function signedMain(edit: (items: Item[]) => Item[], legacy = false): Promise<Uint8Array> {
  const p = splitRpm(hello);
  const main = layoutHeader(63, edit(itemsOf(p.main)));
  const sigs = [sigItem(268, await sign(main, 'trusted-rsa'))];
  if (legacy) sigs.push(sigItem(1002, await sign(concatBytes([main, p.payload]), 'trusted-rsa')));
  return assemble(hello, main, sigs);
}
function replace(tag: number, item: Omit<Item, 'tag'>): (items: Item[]) => Item[] {
  return (items) => items.map((i) => (i.tag === tag ? { tag, ...item } : i));
}
function add(item: Item): (items: Item[]) => Item[] {
  return (items) => sortItems([...items, item]);
}
function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}
function hex(algo: string, data: Uint8Array): string {
  return createHash(algo).update(data).digest('hex');
}
/** hello's good header signature with one body byte changed (the value no longer verifies; the parse must refuse first). */
function goodWithByte(index: number, value: number): Uint8Array {
  return helloWith(sigItem(268, withBodyByte(good, index, value)));
}

const cases: RpmCase[] = [
  // Hash and signature type, with real signatures by a pinned key
  { title: 'rejects an MD5 header signature by a pinned key', build: async () => helloWith(sigItem(268, await sign(mainOf(hello), 'trusted-rsa', { digest: 'MD5', extraArgs: ['--allow-weak-digest-algos'] }))), expected: ['RPM_WEAK_HASH'] },
  { title: 'rejects a RIPEMD-160 header signature by a pinned key', build: async () => helloWith(sigItem(268, await sign(mainOf(hello), 'trusted-rsa', { digest: 'RIPEMD160', extraArgs: ['--allow-weak-digest-algos'] }))), expected: ['RPM_WEAK_HASH'] },
  { title: 'rejects a SHA-1 Ed25519 header signature (267) by a pinned key', build: async () => assemble(tool, mainOf(tool), [sigItem(267, await sign(mainOf(tool), 'trusted-ed25519', { digest: 'SHA1' }))]), expected: ['RPM_WEAK_HASH'] },
  { title: 'rejects a valid canonical-text signature (type 0x01) over the header', build: async () => helloWith(sigItem(268, await sign(mainOf(hello), 'trusted-rsa', { textmode: true }))), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects a certification signature type (0x13) in the header signature', build: () => goodWithByte(1, 0x13), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects a v3 signature packet', build: () => goodWithByte(0, 3), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects a v5 signature packet', build: () => goodWithByte(0, 5), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects a v6 signature packet', build: () => goodWithByte(0, 6), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects a DSA key algorithm byte in the RSA header tag', build: () => goodWithByte(2, 17), expected: ['RPM_WEAK_KEY', 'RPM_SIG_ALGO_MISMATCH'] },
  { title: 'rejects a signature packet with a non-minimal old-format length', build: () => helloWith(sigItem(268, oldFormatSignature(splitPacket(good).body, 4))), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects a signature packet with a non-minimal new-format length', build: () => helloWith(sigItem(268, newFormatLongSignature(splitPacket(good).body))), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects a signature with a critical notation', build: async () => helloWith(sigItem(268, await sign(mainOf(hello), 'trusted-rsa', { extraArgs: ['--sig-notation', '!x@example.invalid=y'] }))), expected: ['RPM_SIG_BLOB_BAD'] },
  // Two signatures where one is allowed
  { title: 'rejects two valid signature packets in one blob', build: () => helloWith(sigItem(268, concatBytes([good, good]))), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects an untrusted signature packet ahead of the valid one', build: async () => helloWith(sigItem(268, concatBytes([await sign(mainOf(hello), 'untrusted-rsa'), good]))), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects both an RSA (268) and an Ed25519 (267) header signature', build: async () => helloWith(sigItem(267, await sign(mainOf(hello), 'trusted-ed25519')), sigItem(268, good)), expected: ['RPM_SIG_MULTIPLE'] },
  { title: 'rejects a header+payload signature placed in the header-only tag', build: async () => helloWith(sigItem(268, await sign(headerAndPayload(hello), 'trusted-rsa'))), expected: ['RPM_SIG_BAD'] },
  // Time
  { title: 'rejects a signature created in the far future', build: async () => helloWith(sigItem(268, await sign(mainOf(hello), 'trusted-rsa', { time: '21000101T000000!' }))), expected: ['RPM_SIG_TIME'] },
  { title: 'rejects a signature dated before its key was created', build: async () => helloWith(sigItem(268, await sign(mainOf(hello), 'trusted-rsa', { time: '20200101T000000!', extraArgs: ['--ignore-time-conflict'] }))), expected: ['RPM_SIG_TIME'] },
  { title: 'rejects a signature whose own expiry has passed', build: async () => helloWith(sigItem(268, await sign(mainOf(hello), 'trusted-rsa', { extraArgs: ['--default-sig-expire', '1d'] }))), expected: ['RPM_SIG_TIME', 'RPM_SIG_BLOB_BAD'] }, // gpg marks the expiry critical, which rpm 4.18 refuses too
  // Forms rpm 4.18 refuses although the signature itself is good (a published package dnf could not install)
  { title: 'rejects a signature whose expiry, far ahead, is marked critical', build: async () => helloWith(sigItem(268, await sign(mainOf(hello), 'trusted-rsa', { extraArgs: ['--default-sig-expire', '2100-01-01'] }))), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects BUILDTIME (1006) of type INT64 in a signed main header', build: () => signedMain(replace(1006, { type: TYPE.INT64, count: 1, value: u64(1704067200) })), expected: ['RPM_HEADER_TYPE_BAD'] },
  { title: 'rejects SOURCERPM (1044) of type INT32 in a signed main header', build: () => signedMain(replace(1044, { type: TYPE.INT32, count: 1, value: int32s([7]) })), expected: ['RPM_HEADER_TYPE_BAD'] },
  { title: 'rejects I18NTABLE (100) of type INT32 in a signed main header', build: () => signedMain(replace(100, { type: TYPE.INT32, count: 1, value: int32s([1]) })), expected: ['RPM_HEADER_TYPE_BAD'] },
  { title: 'rejects SIZE (1009) of type INT64 in a signed main header', build: () => signedMain(replace(1009, { type: TYPE.INT64, count: 1, value: u64(5) })), expected: ['RPM_HEADER_TYPE_BAD'] },
  // Legacy header+payload signatures next to a valid header signature
  { title: 'rejects a legacy signature (1002) by an unpinned key next to a valid header signature', build: async () => helloWith(sigItem(268, good), sigItem(1002, await sign(headerAndPayload(hello), 'untrusted-rsa'))), expected: ['RPM_KEY_NOT_TRUSTED'] },
  { title: 'rejects a SHA-1 legacy signature (1002) next to a valid header signature', build: async () => helloWith(sigItem(268, good), sigItem(1002, await sign(headerAndPayload(hello), 'trusted-rsa', { digest: 'SHA1' }))), expected: ['RPM_WEAK_HASH'] },
  { title: 'rejects a legacy signature (1002) made over the header alone', build: () => helloWith(sigItem(268, good), sigItem(1002, good)), expected: ['RPM_SIG_BAD'] },
  { title: 'rejects both legacy signatures (1002 and 1005)', build: async () => helloWith(sigItem(268, good), sigItem(1002, await sign(headerAndPayload(hello), 'trusted-rsa')), sigItem(1005, await sign(headerAndPayload(hello), 'trusted-ed25519'))), expected: ['RPM_SIG_MULTIPLE'] },
  // Signed main headers that the verifier's own rules must refuse
  { title: 'rejects a pre-4.14 style package: no payload digest, payload bound only by a valid v3 signature', build: () => signedMain((items) => items.filter((i) => ![5092, 5093, 5097].includes(i.tag)), true), expected: ['RPM_PAYLOAD_DIGEST_MISSING'] },
  { title: 'rejects a correct SHA-512 payload digest (PAYLOADDIGESTALGO 10)', build: () => signedMain((items) => replace(5093, { type: TYPE.INT32, count: 1, value: int32s([10]) })(replace(5092, { type: TYPE.STRING_ARRAY, count: 1, value: cString(hex('sha512', splitRpm(hello).payload)) })(items))), expected: ['RPM_PAYLOAD_DIGEST_ALGO'] },
  { title: 'rejects a payload digest array with a second entry', build: () => signedMain((items) => replace(5092, { type: TYPE.STRING_ARRAY, count: 2, value: concatBytes([cString(hex('sha256', splitRpm(hello).payload)), cString('0'.repeat(64))]) })(items)), expected: ['RPM_PAYLOAD_DIGEST_ALGO'] },
  { title: 'rejects a payload digest without its algorithm tag', build: () => signedMain((items) => items.filter((i) => i.tag !== 5093)), expected: ['RPM_PAYLOAD_DIGEST_MISSING'] },
  { title: 'rejects an EPOCH of type INT16', build: () => signedMain(add({ tag: 1003, type: TYPE.INT16, count: 1, value: Uint8Array.of(0, 1) })), expected: ['RPM_NEVRA_BAD'] },
  { title: 'rejects a NAME of type I18NSTRING', build: () => signedMain(replace(1000, { type: TYPE.I18NSTRING, count: 1, value: cString('dom0-hello') })), expected: ['RPM_NEVRA_BAD'] },
  { title: 'rejects a signed main header carrying SHA256HEADER (273)', build: () => signedMain(add({ tag: 273, type: TYPE.STRING, count: 1, value: cString('0'.repeat(64)) })), expected: ['RPM_SIG_IN_MAIN_HEADER'] },
  { title: 'rejects a signed main header carrying the region-list tag (64)', build: () => signedMain(add({ tag: 64, type: TYPE.BIN, count: 16, value: new Uint8Array(16) })), expected: ['RPM_MAIN_TAG_NOT_ALLOWED'] },
  { title: 'rejects a signed main header entry of type NULL (0)', build: () => signedMain(add({ tag: 100099, type: TYPE.NULL, count: 1, value: new Uint8Array(0) })), expected: ['RPM_HEADER_TYPE_BAD'] },
  { title: 'rejects a signed main header entry of unknown type 10', build: () => signedMain(add({ tag: 100099, type: 10, count: 1, value: new Uint8Array(1) })), expected: ['RPM_HEADER_TYPE_BAD'] },
  { title: 'rejects a signed main header entry with count 0', build: () => signedMain(add({ tag: 100099, type: TYPE.INT16, count: 0, value: new Uint8Array(0) })), expected: ['RPM_HEADER_TYPE_BAD'] },
  {
    title: 'rejects a signed main header with a dribble entry after its region',
    build: async () => {
      const h = splitRpm(hello).main;
      const main = headerBlob({ entries: [...h.entries, { tag: 1000, type: TYPE.STRING, offset: h.dl, count: 1 }], data: concatBytes([h.data, cString('evil')]) });
      return assemble(hello, main, [sigItem(268, await sign(main, 'trusted-rsa'))]);
    },
    expected: ['RPM_REGION_BAD', 'RPM_HEADER_NOT_CANONICAL'],
  },
  {
    title: 'rejects a signed main header with non-zero alignment padding',
    build: async () => {
      // an INT32 right after a 1-byte string leaves 3 bytes of padding; fill one of them
      const main = layoutHeader(63, add({ tag: 100098, type: TYPE.STRING, count: 1, value: cString('') })(add({ tag: 100099, type: TYPE.INT32, count: 1, value: int32s([1]) })(itemsOf(splitRpm(hello).main))));
      const h = splitRpm(assemble(hello, main, [])).main;
      const text = h.entries.find((e) => e.tag === 100098)!;
      const bad = headerBlob({ entries: h.entries, data: h.data.map((v, i) => (i === text.offset + 1 ? 0x5a : v)) });
      if (h.entries.find((e) => e.tag === 100099)!.offset <= text.offset + 1) throw new Error('no padding after the string');
      return assemble(hello, bad, [sigItem(268, await sign(bad, 'trusted-rsa'))]);
    },
    expected: ['RPM_HEADER_NOT_CANONICAL'],
  },
  // Signature header (unsigned) tag forms
  { title: 'rejects an MD5 digest of 15 bytes', build: () => assemble(hello, mainOf(hello), [sigItem(268, good)], replace(1004, { type: TYPE.BIN, count: 15, value: createHash('md5').update(headerAndPayload(hello)).digest().subarray(0, 15) })), expected: ['RPM_SIG_TAG_BAD'] },
  { title: 'rejects SHA256HEADER typed as a string array', build: () => assemble(hello, mainOf(hello), [sigItem(268, good)], replace(273, { type: TYPE.STRING_ARRAY, count: 1, value: cString(hex('sha256', mainOf(hello))) })), expected: ['RPM_SIG_TAG_BAD'] },
  { title: 'rejects PAYLOADSIZE typed as INT64', build: () => assemble(hello, mainOf(hello), [sigItem(268, good)], replace(1007, { type: TYPE.INT64, count: 1, value: u64(1) })), expected: ['RPM_SIG_TAG_BAD'] },
  { title: 'rejects SIZE and an equal LONGSIZE together', build: () => assemble(hello, mainOf(hello), [sigItem(268, good)], (items) => add({ tag: 270, type: TYPE.INT64, count: 1, value: u64(mainOf(hello).length + splitRpm(hello).payload.length) })(items)), expected: ['RPM_SIG_TAG_BAD'] },
  { title: 'rejects the PGP5 signature tag (1006) in the signature header', build: () => assemble(hello, mainOf(hello), [sigItem(268, good)], add({ tag: 1006, type: TYPE.BIN, count: 4, value: new Uint8Array(4) })), expected: ['RPM_SIG_TAG_NOT_ALLOWED'] },
  { title: 'rejects a signature header laid out with the main region tag (63)', build: () => { const p = splitRpm(helloWith(sigItem(268, good))); return joinRpm({ lead: p.lead, sig: layoutHeader(63, itemsOf(p.sig)), main: rawHeaderBlob(p.main), payload: p.payload }); }, expected: ['RPM_REGION_BAD'] },
  // Lead
  { title: 'rejects a lead with format minor version 1', build: () => { const b = hello.slice(); b[5] = 1; return b; }, expected: ['RPM_BAD_LEAD'] },
  { title: 'rejects a lead name with an epoch the header does not have', build: () => { const b = hello.slice(); b.set(new TextEncoder().encode('dom0-hello-0:2.0-1\0'), 10); return b; }, expected: ['RPM_LEAD_NAME_MISMATCH'] },
];

describe.concurrent('red team: receive and verify both refuse', () => {
  for (const c of cases) {
    it(c.title, async () => {
      expect(await refuseEverywhere(corpus, NAME, c)).toEqual([]);
    });
  }
});

describe.concurrent('red team: receive binds the file name and the published bytes', () => {
  it('rejects a validly signed package whose header says x86_64 under a noarch file name', async () => {
    const bytes = await signedMain(replace(1022, { type: TYPE.STRING, count: 1, value: cString('x86_64') }));
    const report = await corpus.reject(archive([member(NAME, bytes)]), ['RPM_FILE_NAME_MISMATCH']);
    expect(report.problems).toEqual([]);
  });

  it('rejects two valid packages sent under each other\'s names', async () => {
    const greet = new Uint8Array(await readFile(corpus.fx.packages.v2[1]!.path));
    const report = await corpus.reject(archive([member(NAME, greet), member('dom0-libgreet-2.0-1.noarch.rpm', hello)]), ['RPM_FILE_NAME_MISMATCH']);
    expect(report.problems).toEqual([]);
  });

  it('rejects a package name with a trailing .rpm.rpm', async () => {
    const report = await corpus.reject(archive([member(`${NAME}.rpm`, hello)]), ['RPM_FILE_NAME_MISMATCH']);
    expect(report.problems).toEqual([]);
  });

  it('rejects a published NEVRA signed again by the other pinned key (same name, different bytes)', async () => {
    const v1 = corpus.fx.packages.v1[0]!;
    const bytes = assemble(v1Hello, mainOf(v1Hello), [sigItem(267, await sign(mainOf(v1Hello), 'trusted-ed25519'))]);
    const report = await corpus.reject(archive([member(v1.fileName, bytes)]), ['RPM_CONFLICTS_PUBLISHED']);
    expect(report.problems).toEqual([]);
  });

  it('rejects a published package resent with an unsigned field changed: lead arch number, PAYLOADSIZE', async () => {
    const v1 = corpus.fx.packages.v1[0]!;
    const lead = v1Hello.slice();
    lead[9] = (lead[9] ?? 0) ^ 1;
    const sized = assemble(v1Hello, mainOf(v1Hello), signaturesOf(v1Hello), (items) => items.map((i) => (i.tag === 1007 ? { ...i, value: int32s([new DataView(i.value.buffer, i.value.byteOffset).getUint32(0) + 4]) } : i)));
    for (const [bytes, code] of [[lead, 'RPM_BAD_LEAD'], [sized, 'RPM_PAYLOAD_SIZE_MISMATCH']] as const) {
      const report = await corpus.reject(archive([member(v1.fileName, bytes)]), [code]);
      expect(report.problems).toEqual([]);
    }
  });

  it('rejects a published package resent without its MD5 digest (same signed content, different bytes)', async () => {
    const v1 = corpus.fx.packages.v1[0]!;
    const bytes = assemble(v1Hello, mainOf(v1Hello), signaturesOf(v1Hello), (items) => items.filter((i) => i.tag !== 1004));
    const report = await corpus.reject(archive([member(v1.fileName, bytes)]), ['RPM_CONFLICTS_PUBLISHED']);
    expect(report.problems).toEqual([]);
  });
});

describe('red team controls: what both the verifier and rpm accept', () => {
  it('accepts signatures rpm accepts: SHA-384, Ed25519/SHA-256, a non-critical notation, a legacy Ed25519 1005 next to RSA 268', async () => {
    const builds: [string, Uint8Array][] = [
      [NAME, helloWith(sigItem(268, await sign(mainOf(hello), 'trusted-rsa', { digest: 'SHA384' })))],
      [TOOL, assemble(tool, mainOf(tool), [sigItem(267, await sign(mainOf(tool), 'trusted-ed25519', { digest: 'SHA256' }))])],
      [NAME, helloWith(sigItem(268, await sign(mainOf(hello), 'trusted-rsa', { extraArgs: ['--sig-notation', 'x@example.invalid=y'] })))],
      [NAME, helloWith(sigItem(268, good), sigItem(1005, await sign(headerAndPayload(hello), 'trusted-ed25519')))],
    ];
    const paths = await Promise.all(builds.map(async ([name, bytes]) => corpus.writeScratch(name, bytes)));
    const verdicts = await corpus.verifyAll(paths);
    expect(paths.map((p) => verdicts.get(p)?.verdict)).toEqual(paths.map(() => 'OK'));
    const rpm = await Promise.all(paths.map(async (p) => (await rpmkeysCheck(p, corpus.trustedKeyrings)).ok));
    expect(rpm).toEqual(paths.map(() => true));
  });

  it('accepts optional signature-header forms rpm accepts: no header digests, no MD5, no RESERVEDSPACE', async () => {
    const edits: ((items: Item[]) => Item[])[] = [
      (items) => items.filter((i) => i.tag !== 269 && i.tag !== 273),
      (items) => items.filter((i) => i.tag !== 1004),
      (items) => items.filter((i) => i.tag !== 1008),
    ];
    const paths = await Promise.all(edits.map(async (edit) => corpus.writeScratch(NAME, assemble(hello, mainOf(hello), [sigItem(268, good)], edit))));
    const verdicts = await corpus.verifyAll(paths);
    expect(paths.map((p) => verdicts.get(p)?.verdict)).toEqual(paths.map(() => 'OK'));
    const rpm = await Promise.all(paths.map(async (p) => (await rpmkeysCheck(p, corpus.trustedKeyrings)).ok));
    expect(rpm).toEqual(paths.map(() => true));
  });

  it('refuses size tags in forms rpm accepts but never writes: LONGSIZE alone, the 64-bit pair below 4 GiB, no PAYLOADSIZE', async () => {
    const size = mainOf(hello).length + splitRpm(hello).payload.length;
    const archive = itemsOf(splitRpm(hello).sig).find((i) => i.tag === 1007)!;
    const archiveBytes = new DataView(archive.value.buffer, archive.value.byteOffset).getUint32(0);
    const longSize = { tag: 270, type: TYPE.INT64, count: 1, value: u64(size) };
    const longArchive = { tag: 271, type: TYPE.INT64, count: 1, value: u64(archiveBytes) };
    const edits: ((items: Item[]) => Item[])[] = [
      (items) => sortItems(items.map((i) => (i.tag === 1000 ? longSize : i))),
      (items) => sortItems([...items.filter((i) => i.tag !== 1000 && i.tag !== 1007), longSize, longArchive]),
      (items) => items.filter((i) => i.tag !== 1007),
    ];
    const paths = await Promise.all(edits.map(async (edit) => corpus.writeScratch(NAME, assemble(hello, mainOf(hello), [sigItem(268, good)], edit))));
    const verdicts = await corpus.verifyAll(paths);
    expect(paths.map((p) => verdicts.get(p)?.detail)).toEqual(paths.map(() => 'RPM_SIG_TAG_BAD'));
    const rpm = await Promise.all(paths.map(async (p) => (await rpmkeysCheck(p, corpus.trustedKeyrings)).ok));
    expect(rpm).toEqual(paths.map(() => true));
  });
});

/** The zero-filled RESERVEDSPACE's extent in the file (sampled sparsely: it is 3.6 KiB of zeros). */
function reservedRange(bytes: Uint8Array): { from: number; to: number } {
  const p = splitRpm(bytes);
  const reserved = p.sig.entries.find((e) => e.tag === 1008);
  const from = reserved === undefined ? -1 : p.sig.start + 16 + p.sig.il * 16 + reserved.offset;
  return { from, to: reserved === undefined ? -1 : from + reserved.count };
}
/**
 * Every offset of the lead and signature header (every 61st inside RESERVEDSPACE), every
 * `mainStep`th of the main header, every `payloadStep`th of the payload.
 */
function sweepOffsets(bytes: Uint8Array, mainStep: number, payloadStep: number): number[] {
  const p = splitRpm(bytes);
  const { from, to } = reservedRange(bytes);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 1) {
    const keep = i < p.main.start ? i < from || i >= to || (i - from) % 61 === 0 : i < p.main.end ? (i - p.main.start) % mainStep === 0 : (i - p.main.end) % payloadStep === 0;
    if (keep) out.push(i);
  }
  return out;
}

describe('red team sweeps (verify over many files in one process)', () => {
  // the v3 package differs in its signature header and in what its payload is bound by: the main header is sampled there
  for (const [which, mainStep] of [['header-signed RSA', 1], ['v3-signed RSA', 7]] as const) {
    it(`rejects a flipped bit at every sampled offset of a ${which} package, the unsigned lead and PAYLOADSIZE included`, async () => {
      const bytes = which === 'header-signed RSA' ? hello : new Uint8Array(await readFile(corpus.fx.rpmv3[0]!.path));
      const offsets = sweepOffsets(bytes, mainStep, 37);
      const paths = await Promise.all(offsets.map(async (at) => corpus.writeScratch(NAME, bytes.map((v, i) => (i === at ? v ^ (at % 2 === 0 ? 0x01 : 0x80) : v)))));
      const verdicts = await corpus.verifyAll(paths);
      const problems: string[] = [];
      offsets.forEach((at, k) => {
        const line = verdicts.get(paths[k]!);
        if (line === undefined) problems.push(`@${at}: no verdict`);
        else if (line.verdict === 'OK') problems.push(`@${at}: accepted`);
        else if (line.verdict === 'REJECTED' && !line.detail.startsWith('RPM_')) problems.push(`@${at}: odd code ${line.detail}`);
        if (line !== undefined) problems.push(...rawControlProblems(`@${at}`, new TextEncoder().encode(line.line)));
      });
      expect(problems).toEqual([]);
    });
  }

  it('rejects the package cut at every header offset (every 61st in RESERVEDSPACE) and every 101st payload offset as truncated', async () => {
    const cuts = sweepOffsets(hello, 1, 101);
    const paths = await Promise.all(cuts.map(async (at) => corpus.writeScratch(NAME, hello.slice(0, at))));
    const verdicts = await corpus.verifyAll(paths);
    const wrong = cuts.filter((_, k) => verdicts.get(paths[k]!)?.detail !== 'RPM_TRUNCATED');
    expect(wrong).toEqual([]);
  });
});
