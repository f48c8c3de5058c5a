/**
 * Package variants of the threat catalogue that the other rpm-*.test.ts files spell only once or
 * not at all: the Ed25519 signature tag stripped or moved, weak hashes on the other signature
 * slots, a key revoked before it signed, real DSA and sub-2048-bit RSA keys (pinned, unpinned and
 * as signing subkeys of a pinned key), signature tags in the main header other than 268/273, bytes
 * inserted or appended at other positions (also with every unsigned size and digest fixed up), the
 * structural rules on the main header, and signature blobs wrapped in other packets.
 *
 * Each package goes through the real receiver (the stable code, nothing published, see
 * openCorpus); one `verify` process over all of them at the end checks that verify agrees.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureKey } from '@dom0-updates/fixtures';
import {
  archive, concatBytes, cString, headerBlob, int32s, itemsOf, joinRpm, layoutHeader, member, openCorpus, parseReply, rawControlProblems,
  rawHeaderBlob, receive, runProcess, sortItems, splitRpm, TYPE, withFreshDigests, type Corpus, type Item, type RawHeader, type RpmParts,
} from '../src/index.ts';
import { gpgDetachSign, type DetachedSignOptions } from '../src/rpm/gpg-sign.ts';

let corpus: Corpus;
/** dom0-hello 2.0 (RSA, tag 268) and dom0-tool 2.0 (Ed25519, tag 267). */
let hello: Uint8Array;
let tool: Uint8Array;
/** trusted-rsa's header signature over hello's unchanged main header, made by gpg. */
let goodRsa: Uint8Array;
const NAME = 'dom0-hello-2.0-1.noarch.rpm';
const TOOL = 'dom0-tool-2.0-1.noarch.rpm';

/** Keys made for this file only: what the fixtures do not have. */
interface MadeKey {
  /** For gpgDetachSign: the home and the key to sign with (a subkey is named with its "!" suffix). */
  signer: FixtureKey;
  publicKeyPath: string;
}
let keyDir: string;
let dsa: MadeKey;
let rsa2016: MadeKey;
let edWithDsaSub: MadeKey;
let edWithRsa2016Sub: MadeKey;
let expiredSub: MadeKey;
let revokedSub: MadeKey;

const GPG = ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', '--faked-system-time', '20240101T000000!'];

async function gpg(home: string, args: readonly string[], options: { time?: string; input?: string } = {}): Promise<string> {
  const clock = options.time === undefined ? GPG : [...GPG.slice(0, -1), options.time];
  const result = await runProcess('gpg', [...clock, ...args], {
    env: { GNUPGHOME: home },
    ...(options.input === undefined ? {} : { stdin: new TextEncoder().encode(options.input) }),
  });
  if (result.exitCode !== 0) throw new Error(`gpg ${args.join(' ')}: ${new TextDecoder().decode(result.stderr)}`);
  return new TextDecoder().decode(result.stdout);
}

/** A key made by gpg at the fixtures' clock; with `subkey`, a signing subkey of that algorithm is added and used. */
async function makeKey(label: string, primary: string, subkey?: string): Promise<MadeKey> {
  // short path: the agent's socket must fit in 108 bytes
  const home = await mkdtemp(join(tmpdir(), 'hcg-'));
  try {
    await gpg(home, ['--quick-generate-key', `Gap ${label} <${label}@gaps.invalid>`, primary, 'sign', 'never']);
    let fprs = await fingerprints(home);
    const primaryFpr = fprs[0]!;
    if (subkey !== undefined) {
      await gpg(home, ['--quick-add-key', primaryFpr, subkey, 'sign', 'never']);
      fprs = await fingerprints(home);
    }
    const publicKeyPath = join(keyDir, `${label}.asc`);
    await writeFile(publicKeyPath, await gpg(home, ['--armor', '--export', primaryFpr]));
    const signWith = subkey === undefined ? primaryFpr : `${fprs[1]!}!`;
    const base = corpus.fx.keys['untrusted-rsa'];
    return { signer: { ...base, fingerprint: signWith, gnupgHome: home, publicKeyPath }, publicKeyPath };
  } finally {
    await runProcess('gpgconf', ['--kill', 'gpg-agent'], { env: { GNUPGHOME: home } });
  }
}

async function fingerprints(home: string): Promise<string[]> {
  return [...(await gpg(home, ['--with-colons', '--list-keys'])).matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((m) => m[1]!);
}

/**
 * An Ed25519 key with an Ed25519 signing subkey, whose published form then has the subkey expired
 * (on 2024-01-02) or revoked (on 2024-01-03). gpg will not sign with such a subkey, so the signer
 * is a copy of the home taken before the change (as the fixtures do for expired-rsa and revoked-rsa).
 */
async function makeChangedSubkey(label: string, change: 'expire' | 'revoke'): Promise<MadeKey> {
  const work = await mkdtemp(join(tmpdir(), 'hcg-'));
  const home = join(work, 'h');
  const before = join(work, 's');
  await mkdir(home, { mode: 0o700 });
  try {
    await gpg(home, ['--quick-generate-key', `Gap ${label} <${label}@gaps.invalid>`, 'ed25519', 'sign', 'never']);
    const [primary] = await fingerprints(home);
    await gpg(home, ['--quick-add-key', primary!, 'ed25519', 'sign', 'never']);
    const [, sub] = await fingerprints(home);
    await runProcess('gpgconf', ['--kill', 'gpg-agent'], { env: { GNUPGHOME: home } });
    await cp(home, before, { recursive: true, filter: (src) => !basename(src).startsWith('S.') });
    if (change === 'expire') await gpg(home, ['--quick-set-expire', primary!, '1d', sub!], { time: '20240101T000010!' });
    else await gpg(home, ['--command-fd', '0', '--edit-key', primary!], { time: '20240103T000000!', input: 'key 1\nrevkey\ny\n0\n\ny\nsave\n' });
    const publicKeyPath = join(keyDir, `${label}.asc`);
    await writeFile(publicKeyPath, await gpg(home, ['--armor', '--export', primary!]));
    const base = corpus.fx.keys['untrusted-rsa'];
    return { signer: { ...base, fingerprint: `${sub!}!`, gnupgHome: before, publicKeyPath }, publicKeyPath };
  } finally {
    await runProcess('gpgconf', ['--kill', 'gpg-agent'], { env: { GNUPGHOME: home } });
  }
}

beforeAll(async () => {
  corpus = await openCorpus('gaps-rpm');
  const [h, , t] = corpus.fx.packages.v2;
  if (h?.fileName !== NAME || h.signer !== 'trusted-rsa' || t?.fileName !== TOOL || t.signer !== 'trusted-ed25519') throw new Error('fixture set changed');
  [hello, tool] = await Promise.all([h, t].map(async (p) => new Uint8Array(await readFile(p.path)))) as [Uint8Array, Uint8Array];
  keyDir = join(corpus.scratch, 'gap-keys');
  await mkdir(keyDir);
  [dsa, rsa2016, edWithDsaSub, edWithRsa2016Sub, expiredSub, revokedSub, goodRsa] = await Promise.all([
    makeKey('dsa', 'dsa2048'),
    makeKey('rsa2016', 'rsa2016'),
    makeKey('ed-dsa-sub', 'ed25519', 'dsa2048'),
    makeKey('ed-rsa2016-sub', 'ed25519', 'rsa2016'),
    makeChangedSubkey('expired-sub', 'expire'),
    makeChangedSubkey('revoked-sub', 'revoke'),
    gpgDetachSign(mainOf(hello), corpus.fx.keys['trusted-rsa']),
  ]);
});
afterAll(async () => {
  // makeChangedSubkey's homes sit next to each other in one work dir: remove that
  const homes = [dsa, rsa2016, edWithDsaSub, edWithRsa2016Sub].map((k) => k?.signer.gnupgHome);
  const works = [expiredSub, revokedSub].map((k) => (k === undefined ? undefined : dirname(k.signer.gnupgHome)));
  await Promise.all([...homes, ...works].filter((d) => d !== undefined).map(async (d) => rm(d, { recursive: true, force: true })));
  await corpus.close();
});

function mainOf(bytes: Uint8Array): Uint8Array {
  return rawHeaderBlob(splitRpm(bytes).main);
}
function sigItem(tag: number, blob: Uint8Array): Item {
  return { tag, type: TYPE.BIN, count: blob.length, value: blob };
}
async function sign(data: Uint8Array, key: FixtureKey, options: DetachedSignOptions = {}): Promise<Uint8Array> {
  return gpgDetachSign(data, key, options);
}
function trusted(id: 'trusted-rsa' | 'trusted-ed25519'): FixtureKey {
  return corpus.fx.keys[id];
}
function headerAndPayload(bytes: Uint8Array): Uint8Array {
  const p = splitRpm(bytes);
  return concatBytes([rawHeaderBlob(p.main), p.payload]);
}
/** `bytes` with its signature header items edited; main header and payload untouched. */
function editSig(bytes: Uint8Array, edit: (items: Item[]) => Item[]): Uint8Array {
  const p = splitRpm(bytes);
  return joinRpm({ lead: p.lead, sig: layoutHeader(62, edit(itemsOf(p.sig))), main: rawHeaderBlob(p.main), payload: p.payload });
}
/**
 * `base` with main header `main` and payload `payload`, its signature header rebuilt with SIZE, MD5
 * and the header digests recomputed over them, plus the signature items `sigs`.
 */
function assemble(base: Uint8Array, main: Uint8Array, sigs: Item[], payload = splitRpm(base).payload): Uint8Array {
  const p = splitRpm(base);
  const fresh = splitRpm(withFreshDigests(p, main, payload));
  return joinRpm({ lead: p.lead, sig: layoutHeader(62, sortItems([...itemsOf(fresh.sig), ...sigs])), main, payload });
}
/** hello with a main header laid out from `items` in the order given, validly signed by trusted-rsa. */
async function signedMain(items: Item[]): Promise<Uint8Array> {
  const main = layoutHeader(63, items);
  return assemble(hello, main, [sigItem(268, await sign(main, trusted('trusted-rsa')))]);
}
/** hello's main header with `extra` added, validly signed by trusted-rsa: only a policy rule can refuse it. */
async function signedMainWith(extra: Item): Promise<Uint8Array> {
  return signedMain(sortItems([...itemsOf(splitRpm(hello).main), extra]));
}
/** hello with its 268 blob replaced (the count follows the new length). */
function withRsaBlob(blob: Uint8Array): Uint8Array {
  return editSig(hello, (items) => items.map((i) => (i.tag === 268 ? sigItem(268, blob) : i)));
}
/** hello with its main header's index entries (and, if asked, data) edited in place; the signature header untouched. */
function editMain(edit: (h: RawHeader) => RawHeader): Uint8Array {
  const p: RpmParts = splitRpm(hello);
  const h = edit({ ...p.main, entries: p.main.entries.map((e) => ({ ...e })), data: p.main.data.slice() });
  const main = headerBlob({ entries: h.entries, data: h.data, il: h.il, dl: h.dl });
  return joinRpm({ lead: p.lead, sig: rawHeaderBlob(p.sig), sigPadding: p.sigPadding, main, payload: p.payload });
}
/** hello with its signature header's data store edited in place (index untouched). */
function editSigData(edit: (h: RawHeader) => void): Uint8Array {
  const p = splitRpm(hello);
  const h = { ...p.sig, entries: p.sig.entries.map((e) => ({ ...e })), data: p.sig.data.slice() };
  edit(h);
  return joinRpm({ lead: p.lead, sig: headerBlob({ entries: h.entries, data: h.data }), main: rawHeaderBlob(p.main), payload: p.payload });
}
function entryOf(h: RawHeader, tag: number): RawHeader['entries'][number] {
  const e = h.entries.find((x) => x.tag === tag);
  if (e === undefined) throw new Error(`tag ${tag} missing`);
  return e;
}
/** An OpenPGP packet in the new format with the given tag (one- or two-octet length). */
function packet(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  if (n >= 8384) throw new Error('long packet');
  const length = n < 192 ? Uint8Array.of(n) : Uint8Array.of(((n - 192) >> 8) + 192, (n - 192) & 0xff);
  return concatBytes([Uint8Array.of(0xc0 | tag), length, body]);
}
/** RFC 4880 ASCII armor of a signature (CRC-24 included). */
function armored(blob: Uint8Array): Uint8Array {
  let crc = 0xb704ce;
  for (const byte of blob) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i += 1) {
      crc <<= 1;
      if ((crc & 0x1000000) !== 0) crc ^= 0x1864cfb;
    }
  }
  crc &= 0xffffff;
  const sum = Buffer.from([(crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff]).toString('base64');
  const body = (Buffer.from(blob).toString('base64').match(/.{1,64}/g) ?? []).join('\n');
  return new TextEncoder().encode(`-----BEGIN PGP SIGNATURE-----\n\n${body}\n=${sum}\n-----END PGP SIGNATURE-----\n`);
}

interface GapRpmCase {
  title: string;
  /** The file name it is sent under (hello's unless said). */
  file?: string;
  build: () => Uint8Array | Promise<Uint8Array>;
  expected: readonly string[];
  keyrings?: () => string[];
}

const STRUCT = ['RPM_HEADER_BOUNDS', 'RPM_HEADER_NOT_CANONICAL', 'RPM_REGION_BAD', 'RPM_HEADER_TYPE_BAD', 'RPM_TOO_LARGE'];
const pinnedPlus = (...paths: (() => string)[]): (() => string[]) => () => [...corpus.trustedKeyrings, ...paths.map((p) => p())];

const cases: GapRpmCase[] = [
  // Signature stripped or moved: the Ed25519 tag (267) and the QSB-067 shape with every unsigned digest fixed up
  { title: 'rejects an Ed25519-signed package whose header signature (267) was removed', file: TOOL, build: () => editSig(tool, (items) => items.filter((i) => i.tag !== 267)), expected: ['RPM_UNSIGNED'] },
  {
    title: 'rejects an Ed25519 header signature (267) renamed to the legacy EdDSA header+payload tag (1005)',
    file: TOOL,
    build: () => editSig(tool, (items) => sortItems(items.map((i) => (i.tag === 267 ? { ...i, tag: 1005 } : i)))),
    expected: ['RPM_UNSIGNED'],
  },
  {
    title: 'rejects a header signature moved from the signature header into the main header, with the unsigned digests recomputed (QSB-067)',
    build: () => {
      const p = splitRpm(hello);
      const sig = itemsOf(p.sig).find((i) => i.tag === 268)!;
      return withFreshDigests(p, layoutHeader(63, sortItems([...itemsOf(p.main), sig])));
    },
    expected: ['RPM_SIG_IN_MAIN_HEADER', 'RPM_UNSIGNED'],
  },
  { title: 'rejects a validly signed main header that carries the DSA/EdDSA header-signature tag (267)', build: async () => signedMainWith(sigItem(267, await sign(mainOf(tool), trusted('trusted-ed25519')))), expected: ['RPM_SIG_IN_MAIN_HEADER'] },
  { title: 'rejects a validly signed main header that carries SHA1HEADER (269)', build: () => signedMainWith({ tag: 269, type: TYPE.STRING, count: 1, value: cString('0'.repeat(40)) }), expected: ['RPM_SIG_IN_MAIN_HEADER'] },
  // Weak hashes on the slots that had only one
  { title: 'rejects a SHA-224 Ed25519 header signature (267) by a pinned key', file: TOOL, build: async () => assemble(tool, mainOf(tool), [sigItem(267, await sign(mainOf(tool), trusted('trusted-ed25519'), { digest: 'SHA224' }))]), expected: ['RPM_WEAK_HASH'] },
  { title: 'rejects an MD5 legacy signature (1002) next to a valid header signature', build: async () => assemble(hello, mainOf(hello), [sigItem(268, goodRsa), sigItem(1002, await sign(headerAndPayload(hello), trusted('trusted-rsa'), { digest: 'MD5', extraArgs: ['--allow-weak-digest-algos'] }))]), expected: ['RPM_WEAK_HASH'] },
  { title: 'rejects a SHA-1 legacy Ed25519 signature (1005) next to a valid RSA header signature', build: async () => assemble(hello, mainOf(hello), [sigItem(268, goodRsa), sigItem(1005, await sign(headerAndPayload(hello), trusted('trusted-ed25519'), { digest: 'SHA1' }))]), expected: ['RPM_WEAK_HASH'] },
  // Revoked at signing time; weak keys for real
  {
    title: 'rejects a signature made after the pinned key was revoked',
    build: async () => {
      const revoked = corpus.fx.keys['revoked-rsa'];
      // the fixtures keep a copy of the key from before its revocation, which gpg still signs with
      const signer = { ...revoked, gnupgHome: join(dirname(revoked.gnupgHome), 'signing-gnupg') };
      return assemble(hello, mainOf(hello), [sigItem(268, await sign(mainOf(hello), signer, { time: '20240105T000000!' }))]);
    },
    expected: ['RPM_KEY_REVOKED'],
    keyrings: () => [...corpus.trustedKeyrings, corpus.fx.keys['revoked-rsa'].publicKeyPath],
  },
  { title: 'refuses to pin a DSA key', build: async () => assemble(hello, mainOf(hello), [sigItem(267, await sign(mainOf(hello), dsa.signer))]), expected: ['KEYRING_WEAK_KEY'], keyrings: pinnedPlus(() => dsa.publicKeyPath) },
  { title: 'rejects a header signature (267) by an unpinned DSA key', build: async () => assemble(hello, mainOf(hello), [sigItem(267, await sign(mainOf(hello), dsa.signer))]), expected: ['RPM_KEY_NOT_TRUSTED', 'RPM_WEAK_KEY'] },
  { title: 'refuses to pin a 2016-bit RSA key (under 2048, not only the 1024 of the fixtures)', build: async () => assemble(hello, mainOf(hello), [sigItem(268, await sign(mainOf(hello), rsa2016.signer))]), expected: ['KEYRING_WEAK_KEY'], keyrings: pinnedPlus(() => rsa2016.publicKeyPath) },
  {
    title: 'rejects a signature by a pinned key\'s signing subkey made after the subkey expired',
    build: async () => assemble(hello, mainOf(hello), [sigItem(267, await sign(mainOf(hello), expiredSub.signer, { time: '20240105T000000!' }))]),
    expected: ['RPM_KEY_EXPIRED'],
    keyrings: pinnedPlus(() => expiredSub.publicKeyPath),
  },
  {
    // gpg exports the subkey's revocation ahead of its binding, and rpm 4.18 then cannot import the
    // key at all: so the pin is refused (rpm-verify's own tests cover a revoked subkey's signatures)
    title: 'refuses to pin a key whose signing subkey was revoked, as gpg exports it (rpm 4.18 cannot import it)',
    build: async () => assemble(hello, mainOf(hello), [sigItem(267, await sign(mainOf(hello), revokedSub.signer, { time: '20240105T000000!' }))]),
    expected: ['KEYRING_PARSE'],
    keyrings: pinnedPlus(() => revokedSub.publicKeyPath),
  },
  { title: 'rejects a header signature by the DSA signing subkey of a pinned Ed25519 key', build: async () => assemble(hello, mainOf(hello), [sigItem(267, await sign(mainOf(hello), edWithDsaSub.signer))]), expected: ['RPM_WEAK_KEY', 'KEYRING_WEAK_KEY'], keyrings: pinnedPlus(() => edWithDsaSub.publicKeyPath) },
  { title: 'rejects a header signature by the 2016-bit RSA signing subkey of a pinned Ed25519 key', build: async () => assemble(hello, mainOf(hello), [sigItem(268, await sign(mainOf(hello), edWithRsa2016Sub.signer))]), expected: ['RPM_WEAK_KEY', 'KEYRING_WEAK_KEY'], keyrings: pinnedPlus(() => edWithRsa2016Sub.publicKeyPath) },
  // Signature blobs with extra packets of other kinds
  { title: 'rejects a marker packet ahead of the signature packet', build: () => withRsaBlob(concatBytes([packet(10, new TextEncoder().encode('PGP')), goodRsa])), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects a trust packet after the signature packet', build: () => withRsaBlob(concatBytes([goodRsa, packet(12, Uint8Array.of(0x78, 0x00))])), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects the signature packet wrapped in a compressed-data packet (uncompressed algorithm)', build: () => withRsaBlob(packet(8, concatBytes([Uint8Array.of(0), goodRsa]))), expected: ['RPM_SIG_BLOB_BAD'] },
  { title: 'rejects an ASCII-armored signature in the header signature tag', build: () => withRsaBlob(armored(goodRsa)), expected: ['RPM_SIG_BLOB_BAD'] },
  // Bytes inserted or appended at other positions
  { title: 'rejects eight zero bytes inserted between the lead and the signature header', build: () => concatBytes([hello.subarray(0, 96), new Uint8Array(8), hello.subarray(96)]), expected: ['RPM_HEADER_MAGIC'] },
  { title: 'rejects a byte inserted before the payload with SIZE and MD5 recomputed to match', build: () => { const p = splitRpm(hello); return assemble(hello, mainOf(hello), [sigItem(268, goodRsa)], concatBytes([Uint8Array.of(0), p.payload])); }, expected: ['RPM_PAYLOAD_MISMATCH'] },
  { title: 'rejects bytes appended after the payload with SIZE and MD5 recomputed to match', build: () => { const p = splitRpm(hello); return assemble(hello, mainOf(hello), [sigItem(268, goodRsa)], concatBytes([p.payload, new TextEncoder().encode('#!/bin/sh\nevil\n')])); }, expected: ['RPM_PAYLOAD_MISMATCH'] },
  {
    title: 'rejects eight unused bytes in the main header store before its region trailer',
    build: () => editMain((h) => {
      const data = concatBytes([h.data.subarray(0, h.dl - 16), new Uint8Array(8), h.data.subarray(h.dl - 16)]);
      h.entries[0]!.offset += 8;
      return { ...h, dl: h.dl + 8, data };
    }),
    expected: ['RPM_HEADER_NOT_CANONICAL'],
  },
  // Unsorted or repeated entries laid out canonically and validly signed: only the rule itself can refuse them
  {
    title: 'rejects a validly signed main header with NAME twice (rpm\'s checker and loader could read different names)',
    build: () => signedMain(sortItems([...itemsOf(splitRpm(hello).main), { tag: 1000, type: TYPE.STRING, count: 1, value: cString('evil') }])),
    expected: ['RPM_HEADER_NOT_CANONICAL'],
  },
  {
    title: 'rejects a validly signed main header whose entries are out of tag order (VERSION before NAME)',
    build: () => {
      const items = itemsOf(splitRpm(hello).main);
      const i = items.findIndex((x) => x.tag === 1000);
      [items[i], items[i + 1]] = [items[i + 1]!, items[i]!];
      return signedMain(items);
    },
    expected: ['RPM_HEADER_NOT_CANONICAL'],
  },
  // Main header structure (checked before its digests: the code names the structural fault)
  { title: 'rejects a main region trailer with the signature region tag (62)', build: () => editMain((h) => { new DataView(h.data.buffer, h.data.byteOffset).setUint32(h.dl - 16, 62); return h; }), expected: ['RPM_REGION_BAD'] },
  { title: 'rejects a main header with no region tag', build: () => editMain((h) => ({ ...h, il: h.il - 1, dl: h.dl - 16, entries: h.entries.slice(1), data: h.data.slice(0, h.dl - 16) })), expected: ['RPM_REGION_BAD', 'RPM_HEADER_NOT_CANONICAL'] },
  { title: 'rejects two main entries sharing one data range (VERSION read from NAME\'s bytes)', build: () => editMain((h) => { entryOf(h, 1001).offset = entryOf(h, 1000).offset; return h; }), expected: STRUCT },
  { title: 'rejects a misaligned INT32 main entry (BUILDTIME at an odd offset)', build: () => editMain((h) => { entryOf(h, 1006).offset += 1; return h; }), expected: STRUCT },
  { title: 'rejects an unterminated NAME string in the main header', build: () => editMain((h) => { const e = entryOf(h, 1000); h.data[h.data.indexOf(0, e.offset)] = 0x41; return h; }), expected: STRUCT },
  { title: 'rejects a main entry whose count does not fit (REQUIRENAME count 0xffffffff)', build: () => editMain((h) => { entryOf(h, 1049).count = 0xffffffff; return h; }), expected: STRUCT },
  // Signature header: padding, duplicates, RESERVEDSPACE at its edges
  {
    title: 'rejects a non-zero alignment padding byte in the signature header',
    build: () => {
      // rpm's own layout has no padding here; without SHA1HEADER (optional) SHA256HEADER ends one byte before SIZE's aligned offset
      const p = splitRpm(hello);
      const sig = layoutHeader(62, itemsOf(p.sig).filter((i) => i.tag !== 269));
      const h = splitRpm(joinRpm({ lead: p.lead, sig, main: rawHeaderBlob(p.main), payload: p.payload })).sig;
      const sha256 = entryOf(h, 273);
      const end = h.data.indexOf(0, sha256.offset) + 1;
      if (end >= entryOf(h, 1000).offset) throw new Error('no alignment padding before SIZE');
      h.data[end] = 0x5a;
      return joinRpm({ lead: p.lead, sig: headerBlob({ entries: h.entries, data: h.data }), main: rawHeaderBlob(p.main), payload: p.payload });
    },
    expected: ['RPM_HEADER_NOT_CANONICAL'],
  },
  {
    title: 'rejects SIZE twice in a canonically laid-out signature header, the second with another value',
    build: () => editSig(hello, (items) => items.flatMap((i) => (i.tag === 1000 ? [i, { ...i, value: int32s([1]) }] : [i]))),
    expected: ['RPM_HEADER_NOT_CANONICAL'],
  },
  { title: 'rejects a non-zero first byte of RESERVEDSPACE', build: () => editSigData((h) => { h.data[entryOf(h, 1008).offset] = 1; }), expected: ['RPM_RESERVED_SPACE_NOT_ZERO'] },
  { title: 'rejects a non-zero last byte of RESERVEDSPACE', build: () => editSigData((h) => { const e = entryOf(h, 1008); h.data[e.offset + e.count - 1] = 1; }), expected: ['RPM_RESERVED_SPACE_NOT_ZERO'] },
];

/** Built packages by title, for the one `verify` run at the end. */
const built = new Map<string, { file: string; bytes: Uint8Array; keyrings: string[] | undefined; expected: readonly string[] }>();

describe.concurrent('package variants the other files spell once: receive refuses, nothing published', () => {
  for (const c of cases) {
    it(c.title, async () => {
      const bytes = await c.build();
      const keyrings = c.keyrings?.();
      built.set(c.title, { file: c.file ?? NAME, bytes, keyrings, expected: c.expected });
      const report = await corpus.reject(archive([member(c.file ?? NAME, bytes)]), c.expected, keyrings === undefined ? {} : { keyrings });
      expect(report.problems).toEqual([]);
      expect(c.expected).toContain(report.code);
    });
  }
});

describe('verify agrees', () => {
  it('refuses every package above with one of its codes, in one verify process per keyring set', async () => {
    const groups = new Map<string, { path: string; title: string; expected: readonly string[] }[]>();
    for (const [title, b] of built) {
      // a keyring verify refuses to load gives no per-file line: the receive case already showed that refusal
      if (b.expected.every((code) => code.startsWith('KEYRING_'))) continue;
      const key = JSON.stringify(b.keyrings ?? null);
      const path = await corpus.writeScratch(b.file, b.bytes);
      groups.set(key, [...(groups.get(key) ?? []), { path, title, expected: b.expected }]);
    }
    const problems: string[] = [];
    for (const [key, entries] of groups) {
      const keyrings = JSON.parse(key) as string[] | null;
      const verdicts = await corpus.verifyAll(entries.map((e) => e.path), keyrings ?? undefined);
      for (const e of entries) {
        const line = verdicts.get(e.path);
        if (line === undefined) problems.push(`${e.title}: no verdict`);
        else if (line.verdict !== 'REJECTED') problems.push(`${e.title}: ACCEPTED ${line.line}`);
        else if (!e.expected.includes(line.detail)) problems.push(`${e.title}: code ${line.detail} not in [${e.expected.join(', ')}]`);
        if (line !== undefined) problems.push(...rawControlProblems(e.title, new TextEncoder().encode(line.line)));
      }
    }
    expect(built.size).toBe(cases.length);
    expect(problems).toEqual([]);
  });
});

describe('control: the lead is trusted for nothing', () => {
  it('publishes a package whose unsigned lead names another arch number under the signed header\'s arch, not the lead\'s', async () => {
    const bytes = hello.slice();
    // lead arch number (int16 at offset 8): aarch64 (19), one rpm writes, so the verifier's lead rule lets it through
    new DataView(bytes.buffer).setUint16(8, 19);
    const dir = await corpus.freshUpdatesDir();
    const result = await receive({ updatesDir: dir, keyrings: corpus.trustedKeyrings, stdin: archive([member(NAME, bytes)]) });
    const reply = parseReply(result.stdout);
    expect(typeof reply).not.toBe('string');
    if (typeof reply === 'string') return;
    expect(result.exitCode).toBe(0);
    expect(reply.packages).toMatchObject([{ file: NAME, nevra: 'dom0-hello-2.0-1.noarch' }]);
    // and the published bytes are exactly the ones sent and verified
    expect(new Uint8Array(await readFile(join(dir, 'repo', NAME)))).toEqual(bytes);
  });
});
