/**
 * A third mapping pass over the catalogue's stream and package rows: the variants the other files
 * spell in a neighbouring form only (the literal `a/../../x`, `////abs` and `C:x` without the
 * suffix, names valid only after NFC/NFKC normalisation, trailing dots, paths of 255 to 257 bytes
 * through the prefix field), link and extension combinations (a file written through a hard link
 * to an earlier good member, a pax global header before and after several good members, GNU K before
 * a regular file), every vendor type flag A-Z at the receiver, each signature-header tag the
 * verifier allows given a type or count rpm never writes, and header and legacy signatures in
 * which one of two is bad. Each must be refused with its stable code and nothing published (see
 * openCorpus / judgeRejection); packages also by `verify` (refuseEverywhere).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archive, cString, concatBytes, gnuLongMember, int32s, itemsOf, joinRpm, layoutHeader, member, openCorpus, paxHeader, paxRecord,
  rawHeaderBlob, sortItems, splitRpm, TYPE, ustarHeader, type Corpus, type Item,
} from '../src/index.ts';
import { refuseEverywhere } from './rpm-run.ts';
import { bytesOf, type RpmCase, type StreamCase } from './support.ts';

let corpus: Corpus;
/** The three v2 packages (hello, libgreet, tool); none is in the published baseline. */
let v2: { name: string; bytes: Uint8Array }[];
/** hello 2.0 signed with --rpmv3: header signature 268 and legacy header+payload signature 1002. */
let v3Hello: Uint8Array;
const NAME = 'dom0-hello-2.0-1.noarch.rpm';
const TOOL = 'dom0-tool-2.0-1.noarch.rpm';

beforeAll(async () => {
  corpus = await openCorpus('gaps-variants');
  v2 = await Promise.all(corpus.fx.packages.v2.map(async (p) => ({ name: p.fileName, bytes: await bytesOf(p) })));
  const v3 = corpus.fx.rpmv3[0];
  if (v2[0]?.name !== NAME || v2[2]?.name !== TOOL || v3?.fileName !== NAME) throw new Error('fixture set changed');
  v3Hello = new Uint8Array(await readFile(v3.path));
});
afterAll(async () => corpus.close());

const hello = (): Uint8Array => v2[0]!.bytes;
const tool = (): Uint8Array => v2[2]!.bytes;
/** The three good v2 members, no end marker. */
const goodMembers = (): Uint8Array[] => v2.map((p) => member(p.name, p.bytes));
const named = (name: string | Uint8Array): (() => Uint8Array) => () => archive([member(name, hello())]);
const headerOnly = (name: string, typeflag: string, linkname = ''): Uint8Array => ustarHeader({ name, size: 0, typeflag, linkname });

const BAD_NAME = ['TAR_BAD_NAME'];
const LINK = ['TAR_LINK_MEMBER'];
const UNSUPPORTED = ['TAR_UNSUPPORTED_TYPE'];

const streams: StreamCase[] = [
  // the catalogue's spellings exactly, without the .rpm suffix the other files add
  { title: 'rejects the literal climb a/../../x', stream: named('a/../../x'), expected: BAD_NAME },
  { title: 'rejects the literal ////abs', stream: named('////abs'), expected: BAD_NAME },
  { title: 'rejects the literal drive-relative C:x', stream: named('C:x'), expected: BAD_NAME },
  { title: 'rejects the literal C:../x', stream: named('C:../x'), expected: BAD_NAME },
  // names a Windows or macOS file system would fold onto a valid one
  { title: 'rejects the package name with a trailing dot (Windows strips it)', stream: named(`${NAME}.`), expected: BAD_NAME },
  { title: 'rejects the package name with trailing dots and spaces', stream: named(`${NAME}. .`), expected: BAD_NAME },
  { title: 'rejects the package name with an NTFS alternate data stream suffix', stream: named(`${NAME}::$DATA`), expected: BAD_NAME },
  { title: 'rejects a name that is valid only after NFKC (fullwidth x)', stream: named('\uff58.rpm'), expected: BAD_NAME },
  { title: 'rejects a name that is valid only after NFKC (one dot leader U+2024 as the suffix dot)', stream: named('dom0-hello-2.0-1.noarch\u2024rpm'), expected: BAD_NAME },
  { title: 'rejects a name that is valid only after NFKC (ligature fi)', stream: named('\ufb01le.rpm'), expected: BAD_NAME },
  { title: 'rejects a precomposed (NFC) accented name', stream: named('caf\u00e9.rpm'), expected: BAD_NAME },
  // long paths through the prefix field: 255 and 256 bytes, and 257 with a byte spilled into the mode field
  { title: 'rejects a 255-byte path split between prefix and name', stream: () => archive([member(`${'b'.repeat(95)}.rpm`, hello(), { header: { prefix: 'a'.repeat(155) } })]), expected: BAD_NAME },
  { title: 'rejects a 256-byte path split between prefix and name', stream: () => archive([member(`${'b'.repeat(96)}.rpm`, hello(), { header: { prefix: 'a'.repeat(155) } })]), expected: BAD_NAME },
  {
    title: 'rejects a 257-byte path whose last byte spills into the mode field',
    stream: () => archive([member(`${'b'.repeat(96)}.rpm`, hello(), { header: { prefix: 'a'.repeat(155), mode: 'b000644\0' } })]),
    expected: ['TAR_BAD_NUMBER', 'TAR_BAD_NAME'],
  },
  // links
  {
    title: 'rejects a hard link to an earlier good member followed by a file written under the link\'s name, publishing neither',
    stream: () => archive([member(NAME, hello()), headerOnly(v2[1]!.name, '1', NAME), member(v2[1]!.name, v2[1]!.bytes)]),
    expected: LINK,
  },
  {
    title: 'rejects a chain of two symlinks ending in a hard link, then a file written through the chain',
    stream: () => archive([headerOnly('a.rpm', '2', 'b.rpm'), headerOnly('b.rpm', '2', 'c.rpm'), headerOnly('c.rpm', '1', '/etc/passwd'), member('a.rpm', hello())]),
    expected: LINK,
  },
  { title: 'rejects a symlink with an empty name field', stream: () => archive([headerOnly('', '2', '/etc')]), expected: LINK },
  // pax and GNU extensions in combination with several members
  {
    title: 'rejects a pax global header that renames every later member, followed by three good packages, publishing none',
    stream: () => archive([paxHeader([paxRecord('path', 'evil.rpm')], { global: true }), ...goodMembers()]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax global header that resizes every later member, followed by three good packages',
    stream: () => archive([paxHeader([paxRecord('size', '512')], { global: true }), ...goodMembers()]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax global header after three good packages, publishing none',
    stream: () => archive([...goodMembers(), paxHeader([paxRecord('path', 'evil.rpm')], { global: true })]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax extended header whose own name is a valid package name',
    stream: () => archive([member(NAME, paxRecord('path', 'evil.rpm'), { header: { typeflag: 'x' } }), member(NAME, hello())]),
    expected: UNSUPPORTED,
  },
  { title: 'rejects a GNU long-link (K) header followed by a regular file', stream: () => archive([gnuLongMember('K', '/etc/shadow', { ustarMagic: true }), member(NAME, hello())]), expected: UNSUPPORTED },
  { title: 'rejects a GNU long-link (K) header with GNU magic at its magic', stream: () => archive([gnuLongMember('K', '/etc/shadow'), headerOnly('x.rpm', '2', 'y')]), expected: ['TAR_BAD_MAGIC'] },
  { title: 'rejects a GNU sparse (S) member after three good packages', stream: () => archive([...goodMembers(), member('s.rpm', hello(), { header: { typeflag: 'S' } })]), expected: UNSUPPORTED },
  // checksums: the historic signed sum over a high-bit byte in a field that is otherwise never read
  { title: 'rejects a signed-char checksum over a high-bit byte in the reserved tail', stream: () => archive([member(NAME, hello(), { header: { reserved: new Uint8Array([0xff]), chksum: { sum: 'signed' } } })]), expected: ['TAR_BAD_CHECKSUM'] },
  // every vendor / unknown upper-case type flag, at the receiver
  ...Array.from({ length: 26 }, (_, i) => String.fromCharCode(0x41 + i)).map((flag) => ({
    title: `rejects type flag ${flag} at the receiver`,
    stream: () => archive([member('x.rpm', hello(), { header: { typeflag: flag } })]),
    expected: UNSUPPORTED,
  })),
];

describe.concurrent('stream variants the other files spell in a neighbouring form', () => {
  for (const c of streams) {
    it(c.title, async () => {
      const report = await corpus.reject(await c.stream(), c.expected);
      expect(report.problems).toEqual([]);
      expect(c.expected).toContain(report.code);
    });
  }
});

// ---- packages ----

const u64 = (value: number): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
};
/** `bytes` with its signature header re-laid canonically from `edit`'s items: only a tag rule can refuse it. */
function editSig(bytes: Uint8Array, edit: (items: Item[]) => Item[]): Uint8Array {
  const p = splitRpm(bytes);
  return joinRpm({ lead: p.lead, sig: layoutHeader(62, sortItems(edit(itemsOf(p.sig)))), main: rawHeaderBlob(p.main), payload: p.payload });
}
/** One signature item replaced by `change`. */
function retype(bytes: Uint8Array, tag: number, change: (item: Item) => Partial<Item>): Uint8Array {
  return editSig(bytes, (items) => {
    if (!items.some((i) => i.tag === tag)) throw new Error(`tag ${tag} missing`);
    return items.map((i) => (i.tag === tag ? { ...i, ...change(i) } : i));
  });
}
/** main header + payload length: the value of SIZE / LONGSIZE. */
const signedSize = (bytes: Uint8Array): number => { const p = splitRpm(bytes); return rawHeaderBlob(p.main).length + p.payload.length; };
const flipNearEnd = (value: Uint8Array): Uint8Array => value.map((v, k) => (k === value.length - 5 ? v ^ 1 : v));
const itemOf = (bytes: Uint8Array, tag: number): Item => itemsOf(splitRpm(bytes).sig).find((i) => i.tag === tag)!;

const TAG_BAD = ['RPM_SIG_TAG_BAD'];

interface FileRpmCase extends RpmCase {
  file?: string;
}

const packages: FileRpmCase[] = [
  // each signature-header tag the verifier allows, with a type or count rpm never writes
  { title: 'rejects DSAHEADER (267) typed CHAR', file: TOOL, build: () => retype(tool(), 267, () => ({ type: TYPE.CHAR })), expected: TAG_BAD },
  { title: 'rejects RSAHEADER (268) typed INT8', build: () => retype(hello(), 268, () => ({ type: TYPE.INT8 })), expected: TAG_BAD },
  {
    title: 'rejects RSAHEADER (268) typed INT32',
    build: () => retype(hello(), 268, (i) => { const value = concatBytes([i.value, new Uint8Array((4 - (i.value.length % 4)) % 4)]); return { type: TYPE.INT32, count: value.length / 4, value }; }),
    expected: TAG_BAD,
  },
  { title: 'rejects SHA1HEADER (269) typed BIN', build: () => retype(hello(), 269, (i) => ({ type: TYPE.BIN, count: 40, value: i.value.subarray(0, 40) })), expected: TAG_BAD },
  { title: 'rejects SHA1HEADER (269) typed I18NSTRING', build: () => retype(hello(), 269, () => ({ type: TYPE.I18NSTRING })), expected: TAG_BAD },
  { title: 'rejects LONGSIZE (270) typed INT32 in place of SIZE', build: () => retype(hello(), 1000, () => ({ tag: 270 })), expected: TAG_BAD },
  {
    title: 'rejects LONGARCHIVESIZE (271) typed INT32 next to a 64-bit LONGSIZE',
    build: () => editSig(hello(), (items) => items.map((i) => (i.tag === 1000 ? { tag: 270, type: TYPE.INT64, count: 1, value: u64(signedSize(hello())) } : i.tag === 1007 ? { ...i, tag: 271 } : i))),
    expected: TAG_BAD,
  },
  {
    title: 'rejects SHA256HEADER (273) as 32 raw BIN bytes',
    build: () => retype(hello(), 273, (i) => ({ type: TYPE.BIN, count: 32, value: Uint8Array.from(Buffer.from(new TextDecoder().decode(i.value.subarray(0, 64)), 'hex')) })),
    expected: TAG_BAD,
  },
  { title: 'rejects SIZE (1000) typed INT64', build: () => retype(hello(), 1000, () => ({ type: TYPE.INT64, value: u64(signedSize(hello())) })), expected: TAG_BAD },
  { title: 'rejects SIZE (1000) with a second INT32 value', build: () => retype(hello(), 1000, (i) => ({ count: 2, value: concatBytes([i.value, int32s([0])]) })), expected: TAG_BAD },
  { title: 'rejects SIZE (1000) as a decimal STRING', build: () => retype(hello(), 1000, () => ({ type: TYPE.STRING, value: cString(String(signedSize(hello()))) })), expected: TAG_BAD },
  { title: 'rejects a legacy PGP signature (1002) typed STRING next to a valid header signature', build: () => editSig(hello(), (items) => [...items, { tag: 1002, type: TYPE.STRING, count: 1, value: cString('x') }]), expected: TAG_BAD },
  { title: 'rejects MD5 (1004) as a hex STRING', build: () => retype(hello(), 1004, (i) => ({ type: TYPE.STRING, count: 1, value: cString(Buffer.from(i.value).toString('hex')) })), expected: TAG_BAD },
  { title: 'rejects MD5 (1004) of 32 bytes (the digest twice)', build: () => retype(hello(), 1004, (i) => ({ count: 32, value: concatBytes([i.value, i.value]) })), expected: TAG_BAD },
  { title: 'rejects a legacy GPG signature (1005) typed STRING next to a valid header signature', build: () => editSig(hello(), (items) => [...items, { tag: 1005, type: TYPE.STRING, count: 1, value: cString('x') }]), expected: TAG_BAD },
  { title: 'rejects PAYLOADSIZE (1007) with a second INT32 value', build: () => retype(hello(), 1007, (i) => ({ count: 2, value: concatBytes([i.value, int32s([0])]) })), expected: TAG_BAD },
  {
    title: 'rejects RESERVEDSPACE (1008) typed INT32',
    build: () => retype(hello(), 1008, (i) => { const value = i.value.subarray(0, i.value.length - (i.value.length % 4)); return { type: TYPE.INT32, count: value.length / 4, value }; }),
    expected: TAG_BAD,
  },
  { title: 'rejects RESERVEDSPACE (1008) typed STRING', build: () => retype(hello(), 1008, () => ({ type: TYPE.STRING, count: 1, value: new Uint8Array(1) })), expected: TAG_BAD },
  // two signatures where one is bad
  { title: 'rejects a v3-signed package whose header signature (268) is bad and legacy signature (1002) good', build: () => retype(v3Hello, 268, (i) => ({ value: flipNearEnd(i.value) })), expected: ['RPM_SIG_BAD'] },
  { title: 'rejects a v3-signed package whose legacy signature (1002) is bad and header signature (268) good', build: () => retype(v3Hello, 1002, (i) => ({ value: flipNearEnd(i.value) })), expected: ['RPM_SIG_BAD'] },
  { title: 'rejects a v3-signed package whose RSA legacy signature was moved to the EdDSA legacy tag (1005)', build: () => retype(v3Hello, 1002, () => ({ tag: 1005 })), expected: ['RPM_SIG_ALGO_MISMATCH'] },
  {
    title: 'rejects a good header signature (268) followed by a second, bad one in a canonical layout',
    build: () => editSig(hello(), (items) => [...items, { ...itemOf(hello(), 268), value: flipNearEnd(itemOf(hello(), 268).value) }]),
    expected: ['RPM_HEADER_NOT_CANONICAL', 'RPM_SIG_MULTIPLE'],
  },
  { title: 'rejects a good RSA header signature (268) next to a garbage DSA/EdDSA one (267)', build: () => editSig(hello(), (items) => [...items, { tag: 267, type: TYPE.BIN, count: 8, value: new Uint8Array(8).fill(1) }]), expected: ['RPM_SIG_MULTIPLE'] },
  {
    title: 'rejects a garbage RSA header signature (268) next to a real Ed25519 one (267) over another header',
    build: () => editSig(hello(), (items) => [...items.map((i) => (i.tag === 268 ? { ...i, count: 8, value: new Uint8Array(8).fill(1) } : i)), itemOf(tool(), 267)]),
    expected: ['RPM_SIG_MULTIPLE'],
  },
];

describe.concurrent('signature-header tags and signature pairs: receive and verify both refuse', () => {
  for (const c of packages) {
    it(c.title, async () => {
      expect(await refuseEverywhere(corpus, c.file ?? NAME, c)).toEqual([]);
    });
  }
});
