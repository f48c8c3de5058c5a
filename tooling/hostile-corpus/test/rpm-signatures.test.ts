import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedVariant, type FixturePackage, type KeyId } from '@dom0-updates/fixtures';
import {
  concatBytes, cString, itemsOf, joinRpm, layoutHeader, openCorpus, rawHeaderBlob, sortItems, splitRpm, withFreshDigests,
  type Corpus, type Item,
} from '../src/index.ts';
import { refuseEverywhere } from './rpm-run.ts';
import type { RpmCase } from './support.ts';

let corpus: Corpus;
let helloPkg: FixturePackage;
let hello: Uint8Array;
let greet: Uint8Array;
const NAME = 'dom0-hello-2.0-1.noarch.rpm';

beforeAll(async () => {
  corpus = await openCorpus('rpm-signatures');
  const [h, g] = corpus.fx.packages.v2;
  if (h?.fileName !== NAME || h.signer !== 'trusted-rsa' || g === undefined) throw new Error('fixture set changed');
  helloPkg = h;
  hello = new Uint8Array(await readFile(h.path));
  greet = new Uint8Array(await readFile(g.path));
});
afterAll(async () => corpus.close());

async function read(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}
async function variant(key: KeyId, opts: { digestAlgo?: 'sha1' | 'sha224' | 'sha256' | 'sha512'; rpmv3?: boolean } = {}): Promise<Uint8Array> {
  return read(await signedVariant(helloPkg, { key, ...opts }));
}
/** hello from the fixtures' --rpmv3 set: it carries both 268 and the legacy 1002. */
async function v3Signed(): Promise<Uint8Array> {
  const pkg = corpus.fx.rpmv3[0]!;
  const bytes = await read(pkg.path);
  if (pkg.fileName !== NAME || !splitRpm(bytes).sig.entries.some((e) => e.tag === 1002)) throw new Error('rpmv3 fixture has no legacy signature');
  return bytes;
}
function pinned(...ids: KeyId[]): () => string[] {
  return () => [...corpus.trustedKeyrings, ...ids.map((id) => corpus.fx.keys[id].publicKeyPath)];
}
/** hello with its signature header items edited (the main header and payload untouched). */
function editSig(bytes: Uint8Array, edit: (items: Item[]) => Item[]): Uint8Array {
  const p = splitRpm(bytes);
  return joinRpm({ lead: p.lead, sig: layoutHeader(62, edit(itemsOf(p.sig))), main: rawHeaderBlob(p.main), payload: p.payload });
}
function blobEdit(edit: (blob: Uint8Array) => Uint8Array): () => Uint8Array {
  return () => editSig(hello, (items) => items.map((i) => (i.tag === 268 ? { ...i, value: edit(i.value), count: edit(i.value).length } : i)));
}
/**
 * The main header changed by `edit`, then validly signed again by trusted-rsa with rpmsign: the
 * signature verifies, so only the verifier's own rule can refuse the change.
 */
async function resigned(edit: (items: Item[]) => Item[]): Promise<Uint8Array> {
  const p = splitRpm(hello);
  const mutated = withFreshDigests(p, layoutHeader(63, edit(itemsOf(p.main))));
  const path = await corpus.writeScratch(NAME, mutated);
  return read(await signedVariant({ ...helloPkg, path }, { key: 'trusted-rsa' }));
}

const cases: RpmCase[] = [
  { title: 'rejects an unsigned package (rpm itself only says digests OK)', build: () => read(corpus.fx.unsigned[0]!.path), expected: ['RPM_UNSIGNED'] },
  { title: 'rejects a package signed by a key that is not pinned', build: () => read(corpus.fx.untrusted[0]!.path), expected: ['RPM_KEY_NOT_TRUSTED'] },
  { title: 'rejects a SHA-1 signature by a pinned key (Qubes issue 7321)', build: () => variant('trusted-rsa', { digestAlgo: 'sha1' }), expected: ['RPM_WEAK_HASH'] },
  { title: 'rejects a SHA-224 signature by a pinned key', build: () => variant('trusted-rsa', { digestAlgo: 'sha224' }), expected: ['RPM_WEAK_HASH'] },
  { title: 'rejects a signature by an unpinned 1024-bit RSA key', build: () => variant('weak-rsa1024'), expected: ['RPM_KEY_NOT_TRUSTED', 'RPM_WEAK_KEY'] },
  { title: 'refuses to pin a 1024-bit RSA key at all', build: () => variant('weak-rsa1024'), expected: ['KEYRING_WEAK_KEY', 'RPM_WEAK_KEY'], keyrings: pinned('weak-rsa1024') },
  { title: 'rejects a signature made after the pinned key expired', build: () => variant('expired-rsa'), expected: ['RPM_KEY_EXPIRED', 'RPM_SIG_TIME'], keyrings: pinned('expired-rsa') },
  { title: 'rejects a signature by a pinned key that was revoked later', build: () => variant('revoked-rsa'), expected: ['RPM_KEY_REVOKED'], keyrings: pinned('revoked-rsa') },
  { title: 'rejects a package whose header signature (268) was removed', build: () => editSig(hello, (items) => items.filter((i) => i.tag !== 268)), expected: ['RPM_UNSIGNED'] },
  { title: 'rejects a v3-signed package whose header signature was removed (the legacy one alone is not enough)', build: async () => editSig(await v3Signed(), (items) => items.filter((i) => i.tag !== 268)), expected: ['RPM_UNSIGNED'] },
  { title: 'rejects a header signature renamed to an unknown tag', build: () => editSig(hello, (items) => sortItems(items.map((i) => (i.tag === 268 ? { ...i, tag: 280 } : i)))), expected: ['RPM_SIG_TAG_NOT_ALLOWED', 'RPM_UNSIGNED'] },
  { title: 'rejects a header signature renamed to the legacy header+payload tag (1002)', build: () => editSig(hello, (items) => sortItems(items.map((i) => (i.tag === 268 ? { ...i, tag: 1002 } : i)))), expected: ['RPM_UNSIGNED', 'RPM_SIG_BAD', 'RPM_SIG_TAG_BAD'] },
  { title: 'rejects two header signatures (268 twice)', build: () => editSig(hello, (items) => { const s = items.find((i) => i.tag === 268)!; return sortItems([...items, s]); }), expected: ['RPM_SIG_MULTIPLE', 'RPM_HEADER_NOT_CANONICAL'] },
  { title: 'rejects a signature blob with one trailing byte', build: blobEdit((b) => concatBytes([b, Uint8Array.of(0)])), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects a signature blob with a second signature packet', build: blobEdit((b) => concatBytes([b, b])), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects a truncated signature blob', build: blobEdit((b) => b.slice(0, b.length - 10)), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects a signature blob with a flipped MPI bit', build: blobEdit((b) => b.map((v, i) => (i === b.length - 5 ? v ^ 1 : v))), expected: ['RPM_SIG_BAD'] },
  { title: 'rejects an empty signature blob', build: blobEdit(() => new Uint8Array(0)), expected: ['RPM_SIG_BLOB_BAD', 'RPM_SIG_TAG_BAD', 'RPM_HEADER_NOT_CANONICAL', 'RPM_HEADER_TYPE_BAD'] },
  { title: 'rejects a valid signature transplanted from another package by the same key', build: () => { const s = itemsOf(splitRpm(greet).sig).find((i) => i.tag === 268)!; return editSig(hello, (items) => items.map((i) => (i.tag === 268 ? s : i))); }, expected: ['RPM_SIG_BAD'] },
  { title: 'rejects a legacy header+payload signature transplanted from another package', build: async () => { const other = splitRpm(await read(corpus.fx.rpmv3[1]!.path)); const s = itemsOf(other.sig).find((i) => i.tag === 1002)!; return editSig(await v3Signed(), (items) => items.map((i) => (i.tag === 1002 ? s : i))); }, expected: ['RPM_SIG_BAD'] },
  { title: 'rejects a validly signed package without a payload digest (payload bound by nothing but v3)', build: () => resigned((items) => items.filter((i) => ![5092, 5093, 5097].includes(i.tag))), expected: ['RPM_PAYLOAD_DIGEST_MISSING'] },
  { title: 'rejects a validly signed main header that carries a signature tag (QSB-067)', build: () => resigned((items) => sortItems([...items, { tag: 268, type: 7, count: 4, value: Uint8Array.of(1, 2, 3, 4) }])), expected: ['RPM_SIG_IN_MAIN_HEADER', 'RPM_MAIN_TAG_NOT_ALLOWED'] },
  { title: 'rejects a validly signed main header that carries a legacy signature-range tag (261)', build: () => resigned((items) => sortItems([...items, { tag: 261, type: 7, count: 16, value: new Uint8Array(16) }])), expected: ['RPM_SIG_IN_MAIN_HEADER', 'RPM_MAIN_TAG_NOT_ALLOWED'] },
  { title: 'rejects a validly signed package with an unlisted payload compressor', build: () => resigned((items) => items.map((i) => (i.tag === 1125 ? { ...i, value: cString('lzip') } : i))), expected: ['RPM_PAYLOAD_FORMAT'] },
  { title: 'rejects a validly signed package whose payload format is not cpio', build: () => resigned((items) => items.map((i) => (i.tag === 1124 ? { ...i, value: cString('drpm') } : i))), expected: ['RPM_PAYLOAD_FORMAT'] },
  { title: 'rejects a validly signed package with a terminal escape in its version', build: () => resigned((items) => items.map((i) => (i.tag === 1001 ? { ...i, value: cString('2.0\u001b[2J') } : i))), expected: ['RPM_NEVRA_BAD', 'RPM_LEAD_NAME_MISMATCH'] },
  { title: 'rejects a validly signed package with a slash in its name', build: () => resigned((items) => items.map((i) => (i.tag === 1000 ? { ...i, value: cString('../evil') } : i))), expected: ['RPM_NEVRA_BAD', 'RPM_LEAD_NAME_MISMATCH'] },
  { title: 'rejects a validly signed source package (no SOURCERPM)', build: () => resigned((items) => items.filter((i) => i.tag !== 1044)), expected: ['RPM_NOT_BINARY'] },
];

describe.concurrent('signatures: receive and verify both refuse', () => {
  for (const c of cases) {
    it(c.title, async () => {
      expect(await refuseEverywhere(corpus, NAME, c)).toEqual([]);
    });
  }
});

describe('controls: what the verifier must accept', () => {
  it('accepts a SHA-512 signature and a v3-signed package by a pinned key', async () => {
    const paths = [await signedVariant(helloPkg, { key: 'trusted-rsa', digestAlgo: 'sha512' }), corpus.fx.rpmv3[0]!.path];
    const verdicts = await corpus.verifyAll(paths);
    expect(paths.map((p) => verdicts.get(p)?.verdict)).toEqual(['OK', 'OK']);
  });
});
