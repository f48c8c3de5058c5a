import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  concatBytes, cString, headerBlob, itemsOf, joinRpm, layoutHeader, openCorpus, rawHeaderBlob, sortItems, splitRpm,
  TYPE, type Corpus, type Item, type RawHeader, type RpmParts,
} from '../src/index.ts';
import { refuseEverywhere } from './rpm-run.ts';
import type { RpmCase } from './support.ts';

let corpus: Corpus;
/** dom0-hello 2.0 signed by trusted-rsa (268), its sibling libgreet, and dom0-tool signed by Ed25519 (267). */
let hello: Uint8Array;
let greet: Uint8Array;
let tool: Uint8Array;
const NAME = 'dom0-hello-2.0-1.noarch.rpm';

beforeAll(async () => {
  corpus = await openCorpus('rpm-structure');
  const [h, g, t] = corpus.fx.packages.v2;
  if (h?.fileName !== NAME || g === undefined || t?.signer !== 'trusted-ed25519') throw new Error('fixture set changed');
  const loaded = await Promise.all([h, g, t].map(async (p) => new Uint8Array(await readFile(p.path))));
  [hello, greet, tool] = [loaded[0]!, loaded[1]!, loaded[2]!];
});
afterAll(async () => corpus.close());

function parts(): RpmParts {
  return splitRpm(hello);
}
function sigBlob(p: RpmParts): Uint8Array {
  return rawHeaderBlob(p.sig);
}
function mainBlob(p: RpmParts): Uint8Array {
  return rawHeaderBlob(p.main);
}
/** The package with its signature header replaced by `sig` (padding recomputed). */
function withSig(sig: Uint8Array, p = parts()): Uint8Array {
  return joinRpm({ lead: p.lead, sig, main: mainBlob(p), payload: p.payload });
}
function withMain(main: Uint8Array, p = parts()): Uint8Array {
  return joinRpm({ lead: p.lead, sig: sigBlob(p), sigPadding: p.sigPadding, main, payload: p.payload });
}
/** The signature header with its index entries edited in place (data store untouched). */
function editSigIndex(edit: (h: RawHeader) => RawHeader): Uint8Array {
  const p = parts();
  const h = edit({ ...p.sig, entries: p.sig.entries.map((e) => ({ ...e })) });
  return withSig(headerBlob({ entries: h.entries, data: h.data, il: h.il, dl: h.dl }), p);
}
function sigItems(edit: (items: Item[]) => Item[]): Uint8Array {
  const p = parts();
  return withSig(layoutHeader(62, edit(itemsOf(p.sig))), p);
}
function flip(bytes: Uint8Array, at: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[at] = (out[at] ?? 0) ^ mask;
  return out;
}
function setU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(at, value >>> 0);
  return out;
}
function entryIndex(h: RawHeader, tag: number): number {
  const i = h.entries.findIndex((e) => e.tag === tag);
  if (i < 0) throw new Error(`tag ${tag} missing`);
  return i;
}

const LEAD = ['RPM_BAD_LEAD', 'RPM_LEAD_NAME_MISMATCH', 'RPM_NOT_BINARY'];
const STRUCT = ['RPM_HEADER_BOUNDS', 'RPM_HEADER_NOT_CANONICAL', 'RPM_REGION_BAD', 'RPM_HEADER_TYPE_BAD', 'RPM_TOO_LARGE', 'RPM_HEADER_MAGIC', 'RPM_SIG_TAG_BAD'];
const BOUND = ['RPM_SIG_BAD', 'RPM_DIGEST_MISMATCH', 'RPM_SIZE_MISMATCH', 'RPM_PAYLOAD_MISMATCH'];
const SIG_START = 96;

const cases: RpmCase[] = [
  // Lead
  { title: 'rejects a package whose lead magic is wrong', build: () => flip(hello, 0), expected: ['RPM_BAD_LEAD'] },
  { title: 'rejects a lead claiming RPM format 4.0', build: () => { const b = hello.slice(); b[4] = 4; return b; }, expected: ['RPM_BAD_LEAD'] },
  { title: 'rejects a lead that says source package', build: () => { const b = hello.slice(); b[7] = 1; return b; }, expected: LEAD },
  { title: 'rejects a lead whose name is not the header NEVR (lead is bound by nothing)', build: () => { const b = hello.slice(); b.set(new TextEncoder().encode('evil-9.9-9\0\0\0\0\0\0'), 10); return b; }, expected: LEAD },
  { title: 'rejects a lead name with bytes after its NUL', build: () => { const b = hello.slice(); b[70] = 0x41; return b; }, expected: LEAD },
  { title: 'rejects a lead with a signature type other than 5', build: () => { const b = hello.slice(); b[79] = 0; return b; }, expected: ['RPM_BAD_LEAD'] },
  { title: 'rejects non-zero lead reserved bytes', build: () => { const b = hello.slice(); b[90] = 7; return b; }, expected: ['RPM_BAD_LEAD'] },
  { title: 'rejects a file that is only a lead', build: () => hello.slice(0, 96), expected: ['RPM_TRUNCATED'] },
  { title: 'rejects an empty file', build: () => new Uint8Array(0), expected: ['RPM_TRUNCATED', 'RPM_BAD_LEAD'] },
  // Signature header: framing
  { title: 'rejects a wrong signature header magic', build: () => flip(hello, SIG_START + 1), expected: ['RPM_HEADER_MAGIC'] },
  { title: 'rejects non-zero reserved bytes after the header magic', build: () => flip(hello, SIG_START + 5), expected: ['RPM_HEADER_MAGIC', 'RPM_HEADER_NOT_CANONICAL'] },
  { title: 'rejects a signature il of 0xffffffff (out-of-bounds read)', build: () => setU32(hello, SIG_START + 8, 0xffffffff), expected: STRUCT },
  { title: 'rejects a signature dl of 0xffffffff', build: () => setU32(hello, SIG_START + 12, 0xffffffff), expected: STRUCT },
  { title: 'rejects a signature il one too large (index swallows data)', build: () => { const p = parts(); return setU32(hello, SIG_START + 8, p.sig.il + 1); }, expected: STRUCT },
  { title: 'rejects a signature dl one too small', build: () => { const p = parts(); return setU32(hello, SIG_START + 12, p.sig.dl - 1); }, expected: [...STRUCT, 'RPM_SIG_PADDING'] },
  { title: 'rejects a signature il of 0', build: () => setU32(hello, SIG_START + 8, 0), expected: [...STRUCT, 'RPM_UNSIGNED'] },
  { title: 'rejects non-zero padding after the signature header', build: () => { const p = parts(); return withSig(sigBlob(p), p).map((v, i) => (i === p.sig.end ? 0x5a : v)); }, expected: ['RPM_SIG_PADDING'] },
  { title: 'rejects a missing signature padding', build: () => { const p = parts(); return joinRpm({ lead: p.lead, sig: sigBlob(p), sigPadding: new Uint8Array(0), main: mainBlob(p), payload: p.payload }); }, expected: ['RPM_SIG_PADDING', 'RPM_HEADER_MAGIC'] },
  { title: 'rejects eight extra bytes of signature padding', build: () => { const p = parts(); return joinRpm({ lead: p.lead, sig: sigBlob(p), sigPadding: new Uint8Array(p.sigPadding.length + 8), main: mainBlob(p), payload: p.payload }); }, expected: ['RPM_SIG_PADDING', 'RPM_HEADER_MAGIC'] },
  // Signature header: entries
  { title: 'rejects signature entries out of tag order', build: () => editSigIndex((h) => { const a = entryIndex(h, 269); const b = entryIndex(h, 273); const t = h.entries[a]!; h.entries[a] = h.entries[b]!; h.entries[b] = t; return h; }), expected: STRUCT },
  { title: 'rejects two signature entries sharing one data range (overlap)', build: () => editSigIndex((h) => { h.entries[entryIndex(h, 273)]!.offset = h.entries[entryIndex(h, 269)]!.offset; return h; }), expected: [...STRUCT, 'RPM_DIGEST_MISMATCH'] },
  { title: 'rejects a misaligned INT32 entry (SIZE at an odd offset)', build: () => editSigIndex((h) => { h.entries[entryIndex(h, 1000)]!.offset += 1; return h; }), expected: STRUCT },
  { title: 'rejects a negative entry offset', build: () => editSigIndex((h) => { h.entries[entryIndex(h, 269)]!.offset = -16; return h; }), expected: STRUCT },
  { title: 'rejects an entry count of 0xffffffff (RESERVEDSPACE)', build: () => editSigIndex((h) => { h.entries[entryIndex(h, 1008)]!.count = 0xffffffff; return h; }), expected: STRUCT },
  { title: 'rejects a count that does not fit the data (SHA256 string count 2)', build: () => editSigIndex((h) => { h.entries[entryIndex(h, 273)]!.count = 2; return h; }), expected: [...STRUCT, 'RPM_SIG_TAG_BAD'] },
  { title: 'rejects an unterminated digest string', build: () => editSigIndex((h) => { const e = h.entries[entryIndex(h, 269)]!; h.data[e.offset + 40] = 0x61; return h; }), expected: [...STRUCT, 'RPM_SIG_TAG_BAD', 'RPM_DIGEST_MISMATCH'] },
  { title: 'rejects a region tag whose trailer points at the wrong index size', build: () => editSigIndex((h) => { const v = new DataView(h.data.buffer, h.data.byteOffset); v.setInt32(h.dl - 8, -(h.il - 1) * 16); return h; }), expected: ['RPM_REGION_BAD', 'RPM_HEADER_NOT_CANONICAL'] },
  { title: 'rejects a region trailer with the wrong tag', build: () => editSigIndex((h) => { new DataView(h.data.buffer, h.data.byteOffset).setUint32(h.dl - 16, 63); return h; }), expected: ['RPM_REGION_BAD'] },
  { title: 'rejects a region entry that does not point at the end of the store', build: () => editSigIndex((h) => { h.entries[0]!.offset -= 4; return h; }), expected: ['RPM_REGION_BAD', 'RPM_HEADER_NOT_CANONICAL'] },
  { title: 'rejects a signature header with no region tag', build: () => { const p = parts(); const items = itemsOf(p.sig); const hb = layoutHeader(62, items); const h = splitRpm(withSig(hb, p)).sig; return withSig(headerBlob({ entries: h.entries.slice(1), data: h.data.slice(0, h.dl - 16) }), p); }, expected: ['RPM_REGION_BAD', 'RPM_HEADER_NOT_CANONICAL'] },
  { title: 'rejects a dribble entry outside the signature region', build: () => { const p = parts(); const h = p.sig; const extra = { tag: 1009, type: TYPE.INT32, offset: h.dl, count: 1 }; return withSig(headerBlob({ entries: [...h.entries, extra], data: concatBytes([h.data, new Uint8Array(4)]) }), p); }, expected: ['RPM_REGION_BAD', 'RPM_HEADER_NOT_CANONICAL', 'RPM_SIG_TAG_NOT_ALLOWED'] },
  { title: 'rejects non-zero bytes in RESERVEDSPACE (room for smuggled data)', build: () => editSigIndex((h) => { const e = h.entries[entryIndex(h, 1008)]!; h.data.set(new TextEncoder().encode('smuggled'), e.offset + 100); return h; }), expected: ['RPM_RESERVED_SPACE_NOT_ZERO'] },
  { title: 'rejects unused bytes between signature entries', build: () => sigItems((items) => items.map((i) => (i.tag === 273 ? { ...i, value: concatBytes([i.value, new Uint8Array(3)]) } : i))), expected: STRUCT },
  { title: 'rejects a signature header with an unknown tag', build: () => sigItems((items) => sortItems([...items, { tag: 999, type: TYPE.INT32, count: 1, value: new Uint8Array(4) }])), expected: ['RPM_SIG_TAG_NOT_ALLOWED'] },
  { title: 'rejects IMA file signatures in the signature header', build: () => sigItems((items) => sortItems([...items, { tag: 274, type: TYPE.STRING_ARRAY, count: 1, value: cString('x') }])), expected: ['RPM_SIG_TAG_NOT_ALLOWED'] },
  { title: 'rejects a SIZE tag of the wrong type (INT16)', build: () => sigItems((items) => items.map((i) => (i.tag === 1000 ? { ...i, type: TYPE.INT16, count: 2 } : i))), expected: ['RPM_SIG_TAG_BAD', 'RPM_HEADER_TYPE_BAD', 'RPM_HEADER_NOT_CANONICAL'] },
  { title: 'rejects both SIZE and LONGSIZE', build: () => sigItems((items) => sortItems([...items, { tag: 270, type: TYPE.INT64, count: 1, value: new Uint8Array(8) }])), expected: ['RPM_SIG_TAG_BAD', 'RPM_SIG_MULTIPLE', 'RPM_SIZE_MISMATCH'] },
  { title: 'rejects a SIZE that does not match header plus payload', build: () => sigItems((items) => items.map((i) => (i.tag === 1000 ? { ...i, value: i.value.map((v, k) => (k === 3 ? v ^ 4 : v)) } : i))), expected: ['RPM_SIZE_MISMATCH', 'RPM_TRUNCATED', 'RPM_TRAILING_DATA'] },
  { title: 'rejects a wrong SHA256HEADER digest', build: () => sigItems((items) => items.map((i) => (i.tag === 273 ? { ...i, value: cString('0'.repeat(64)) } : i))), expected: ['RPM_DIGEST_MISMATCH'] },
  { title: 'rejects a wrong MD5 over header and payload (rpm refuses it too)', build: () => sigItems((items) => items.map((i) => (i.tag === 1004 ? { ...i, value: new Uint8Array(16) } : i))), expected: ['RPM_DIGEST_MISMATCH'] },
  { title: 'rejects a wrong SHA1HEADER digest (checked, never relied on)', build: () => sigItems((items) => items.map((i) => (i.tag === 269 ? { ...i, value: cString('0'.repeat(40)) } : i))), expected: ['RPM_DIGEST_MISMATCH'] },
  { title: 'rejects an upper-case hex SHA256HEADER (not rpm\'s spelling)', build: () => sigItems((items) => items.map((i) => (i.tag === 273 ? { ...i, value: cString(new TextDecoder().decode(i.value.subarray(0, 64)).toUpperCase()) } : i))), expected: ['RPM_DIGEST_MISMATCH', 'RPM_SIG_TAG_BAD'] },
  // Main header
  { title: 'rejects a wrong main header magic', build: () => { const p = parts(); return flip(hello, p.main.start + 2); }, expected: ['RPM_HEADER_MAGIC'] },
  { title: 'rejects a main il of 0xffffffff', build: () => { const p = parts(); return setU32(hello, p.main.start + 8, 0xffffffff); }, expected: STRUCT },
  { title: 'rejects a main dl beyond the file', build: () => { const p = parts(); return setU32(hello, p.main.start + 12, 0x7fffffff); }, expected: STRUCT },
  { title: 'rejects main entries out of tag order', build: () => { const p = parts(); const e = p.main.entries.map((x) => ({ ...x })); const t = e[2]!; e[2] = e[3]!; e[3] = t; return withMain(headerBlob({ entries: e, data: p.main.data }), p); }, expected: STRUCT },
  { title: 'rejects a duplicated NAME entry in the main header', build: () => { const p = parts(); const e = p.main.entries.map((x) => ({ ...x })); const i = e.findIndex((x) => x.tag === 1000); e.splice(i + 1, 0, { ...e[i]! }); return withMain(headerBlob({ entries: e, data: p.main.data }), p); }, expected: STRUCT },
  { title: 'rejects a changed byte in the signed main header (package name)', build: () => { const p = parts(); const e = p.main.entries.find((x) => x.tag === 1000)!; return flip(hello, p.main.start + 16 + p.main.il * 16 + e.offset, 0x20); }, expected: [...BOUND, 'RPM_LEAD_NAME_MISMATCH'] },
  { title: 'rejects a main header with a dribble entry after its region', build: () => { const p = parts(); const h = p.main; return withMain(headerBlob({ entries: [...h.entries, { tag: 1000, type: TYPE.STRING, offset: h.dl, count: 1 }], data: concatBytes([h.data, cString('evil')]) }), p); }, expected: ['RPM_REGION_BAD', 'RPM_HEADER_NOT_CANONICAL'] },
  { title: 'rejects a main header whose region tag is the signature region (62)', build: () => { const p = parts(); return withMain(layoutHeader(62, itemsOf(p.main)), p); }, expected: ['RPM_REGION_BAD', 'RPM_SIG_IN_MAIN_HEADER', 'RPM_MAIN_TAG_NOT_ALLOWED'] },
  // Payload and file boundaries
  { title: 'rejects a flipped payload byte', build: () => flip(hello, hello.length - 20), expected: ['RPM_PAYLOAD_MISMATCH', 'RPM_DIGEST_MISMATCH'] },
  { title: 'rejects one byte appended after the payload', build: () => concatBytes([hello, Uint8Array.of(0)]), expected: ['RPM_TRAILING_DATA', 'RPM_SIZE_MISMATCH'] },
  { title: 'rejects a second package appended after the payload', build: () => concatBytes([hello, greet]), expected: ['RPM_TRAILING_DATA', 'RPM_SIZE_MISMATCH'] },
  { title: 'rejects the payload of another package under signed headers', build: () => { const p = parts(); return joinRpm({ lead: p.lead, sig: sigBlob(p), main: mainBlob(p), payload: splitRpm(greet).payload }); }, expected: ['RPM_PAYLOAD_MISMATCH', 'RPM_SIZE_MISMATCH', 'RPM_DIGEST_MISMATCH', 'RPM_TRAILING_DATA', 'RPM_TRUNCATED'] },
  { title: 'rejects the signature header of another package', build: () => { const p = parts(); return joinRpm({ lead: p.lead, sig: sigBlob(splitRpm(greet)), main: mainBlob(p), payload: p.payload }); }, expected: [...BOUND, 'RPM_SIG_BAD'] },
  { title: 'rejects another package\'s main header and payload under this signature header', build: () => { const p = parts(); const q = splitRpm(greet); return joinRpm({ lead: p.lead, sig: sigBlob(p), main: mainBlob(q), payload: q.payload }); }, expected: [...BOUND, 'RPM_LEAD_NAME_MISMATCH'] },
  { title: 'rejects an Ed25519 signature moved into the RSA tag (268)', build: () => { const p = splitRpm(tool); return joinRpm({ lead: p.lead, sig: layoutHeader(62, itemsOf(p.sig).map((i) => (i.tag === 267 ? { ...i, tag: 268 } : i))), main: rawHeaderBlob(p.main), payload: p.payload }); }, expected: ['RPM_SIG_ALGO_MISMATCH'] },
  { title: 'rejects an RSA signature moved into the DSA/EdDSA tag (267)', build: () => sigItems((items) => sortItems(items.map((i) => (i.tag === 268 ? { ...i, tag: 267 } : i)))), expected: ['RPM_SIG_ALGO_MISMATCH'] },
];

// Truncation at offsets in every part of the file.
const CUTS: [string, (p: RpmParts) => number][] = [
  ['inside the lead', () => 50],
  ['inside the signature index', (p) => p.sig.start + 40],
  ['inside the signature data', (p) => p.sig.end - 100],
  ['inside the signature padding', (p) => p.sig.end + 1],
  ['at the main header magic', (p) => p.main.start],
  ['inside the main index', (p) => p.main.start + 100],
  ['inside the main data', (p) => p.main.end - 10],
  ['right after the main header (no payload)', (p) => p.main.end],
  ['inside the payload', (p) => p.main.end + Math.floor(p.payload.length / 2)],
  ['one byte before the end', (p) => p.main.end + p.payload.length - 1],
];

describe.concurrent('RPM structure: receive and verify both refuse', () => {
  for (const c of cases) {
    it(c.title, async () => {
      expect(await refuseEverywhere(corpus, NAME, c)).toEqual([]);
    });
  }
  for (const [where, at] of CUTS) {
    it(`rejects a package truncated ${where}`, async () => {
      const c: RpmCase = { title: where, build: () => hello.slice(0, at(parts())), expected: ['RPM_TRUNCATED', 'RPM_SIZE_MISMATCH'] };
      expect(await refuseEverywhere(corpus, NAME, c)).toEqual([]);
    });
  }
});
