/**
 * Test-only: makes OpenPGP keys with OpenPGP.js and v4 EdDSA signatures by hand (node:crypto over
 * a digest we compute), so every byte of a signature packet can be chosen: hashed and unhashed
 * subpackets, signature type, critical flags. Packages are then re-signed with these keys, which
 * lets a test change signed header content (NEVRA, payload tags) and still carry a valid signature.
 */
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import * as openpgp from 'openpgp';
import { buildHeader, readEntries, type RawEntry } from './header-builder.ts';
import type { PackageParts } from './package-bytes.ts';

export const KEY_DATE = new Date('2024-01-01T00:00:00Z');
export const SIGN_DATE = new Date('2024-01-02T00:00:00Z');

export interface Subpacket {
  type: number;
  body: Uint8Array;
  critical?: boolean;
}

function u32be(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

function u16be(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

export const sub = {
  created: (d: Date): Subpacket => ({ type: 2, body: u32be(Math.floor(d.getTime() / 1000)) }),
  expiresAfter: (seconds: number): Subpacket => ({ type: 3, body: u32be(seconds) }),
  issuerKeyId: (id: Uint8Array): Subpacket => ({ type: 16, body: id }),
  issuerFingerprint: (fpr: Uint8Array): Subpacket => ({ type: 33, body: Buffer.concat([Buffer.from([4]), fpr]) }),
  notation: (name: string, value: string, critical: boolean): Subpacket => ({
    type: 20,
    critical,
    body: Buffer.concat([Buffer.from([0x80, 0, 0, 0]), u16be(name.length), u16be(value.length), Buffer.from(name), Buffer.from(value)]),
  }),
};

export function encodeSubpackets(list: readonly Subpacket[]): Buffer {
  return Buffer.concat(
    list.map((s) => {
      const len = s.body.length + 1;
      const head = len < 192 ? Buffer.from([len]) : Buffer.from([((len - 192) >> 8) + 192, (len - 192) & 0xff]);
      return Buffer.concat([head, Buffer.from([s.type | (s.critical === true ? 0x80 : 0)]), s.body]);
    }),
  );
}

function mpi(bytes: Uint8Array): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = Buffer.from(bytes.subarray(i));
  const bits = (v.length - 1) * 8 + (32 - Math.clz32(v[0] ?? 0));
  return Buffer.concat([u16be(bits), v]);
}

/** Wraps a signature packet body in an old-format header of minimal length, as gpg writes it. */
export function oldFormatPacket(body: Uint8Array): Buffer {
  if (body.length < 256) return Buffer.concat([Buffer.from([0x88, body.length]), body]);
  return Buffer.concat([Buffer.from([0x89]), u16be(body.length), body]);
}

/** One Ed25519 (legacy EdDSA) key or subkey that can make raw signatures. */
export interface EdSigner {
  readonly fingerprint: Uint8Array;
  readonly keyId: Uint8Array;
  readonly privateKey: KeyObject;
}

interface EdParams {
  publicParams: { Q: Uint8Array };
  privateParams: { seed: Uint8Array };
}

export function edSigner(packet: openpgp.PrivateKey['keyPacket'] | openpgp.Subkey['keyPacket']): EdSigner {
  const p = packet as unknown as EdParams;
  const x = Buffer.from(p.publicParams.Q.subarray(1)).toString('base64url');
  const d = Buffer.from(p.privateParams.seed).toString('base64url');
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x, d }, format: 'jwk' });
  createPublicKey(privateKey); // sanity: the pair is consistent
  return { fingerprint: Buffer.from(packet.getFingerprint(), 'hex'), keyId: Buffer.from(packet.getKeyID().toHex(), 'hex'), privateKey };
}

export interface RawSignOptions {
  type?: number;
  hashAlgo?: 8 | 9 | 10;
  /** default: creation time SIGN_DATE and the issuer fingerprint */
  hashed?: Subpacket[];
  /** default: the issuer key ID, as gpg writes it */
  unhashed?: Subpacket[];
  created?: Date;
  /** the hashed area byte for byte, in place of `hashed` (for malformed subpackets) */
  hashedArea?: Uint8Array;
  /** the unhashed area byte for byte, in place of `unhashed` */
  unhashedArea?: Uint8Array;
  /** bytes after the signature value, inside the packet */
  trailing?: Uint8Array;
  /** rewrites the S value's bytes before they are encoded as an MPI */
  editS?: (s: Buffer) => Buffer;
  /** the two digest bytes stored in clear, in place of the digest's real first two */
  left16?: Uint8Array;
}

const HASH_NAME = { 8: 'sha256', 9: 'sha384', 10: 'sha512' } as const;

/** A v4 EdDSA signature packet over the concatenation of `data`. */
export function rawSign(data: readonly Uint8Array[], signer: EdSigner, opts: RawSignOptions = {}): Buffer {
  const hashAlgo = opts.hashAlgo ?? 8;
  const hashed = opts.hashedArea ?? encodeSubpackets(opts.hashed ?? [sub.issuerFingerprint(signer.fingerprint), sub.created(opts.created ?? SIGN_DATE)]);
  const unhashed = opts.unhashedArea ?? encodeSubpackets(opts.unhashed ?? [sub.issuerKeyId(signer.keyId)]);
  const hashedPart = Buffer.concat([Buffer.from([4, opts.type ?? 0, 22, hashAlgo]), u16be(hashed.length), hashed]);
  const h = createHash(HASH_NAME[hashAlgo]);
  for (const d of data) h.update(d);
  h.update(hashedPart);
  h.update(Buffer.concat([Buffer.from([4, 0xff]), u32be(hashedPart.length)]));
  const digest = h.digest();
  const sig = nodeSign(null, digest, signer.privateKey);
  const sValue = (opts.editS ?? ((v: Buffer) => v))(sig.subarray(32));
  const body = Buffer.concat([hashedPart, u16be(unhashed.length), unhashed, opts.left16 ?? digest.subarray(0, 2), mpi(sig.subarray(0, 32)), mpi(sValue), opts.trailing ?? Buffer.alloc(0)]);
  return oldFormatPacket(body);
}

export interface TestKey {
  readonly key: openpgp.PrivateKey;
  readonly armoredPublic: string;
  readonly primary: EdSigner;
}

export async function generateEdKey(opts: { expiresAfter?: number; signingSubkey?: boolean } = {}): Promise<TestKey> {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: 'Test', email: 'test@example.invalid' }],
    date: KEY_DATE,
    format: 'object',
    ...(opts.expiresAfter === undefined ? {} : { keyExpirationTime: opts.expiresAfter }),
    subkeys: opts.signingSubkey === true ? [{}, { sign: true }] : [{}],
  });
  return { key: privateKey, armoredPublic: privateKey.toPublic().armor(), primary: edSigner(privateKey.keyPacket) };
}

export function subkeySigner(key: openpgp.PrivateKey, index: number): EdSigner {
  const sk = key.subkeys[index];
  if (sk === undefined) throw new Error(`no subkey ${index}`);
  return edSigner(sk.keyPacket);
}

function setLeadName(lead: Uint8Array, name: string): Buffer {
  const b = Buffer.from(lead);
  b.fill(0, 10, 76);
  Buffer.from(name, 'latin1').subarray(0, 65).copy(b, 10);
  return b;
}

function replaceEntry(entries: RawEntry[], tag: number, entry: RawEntry | undefined): RawEntry[] {
  const rest = entries.filter((e) => e.tag !== tag);
  return [...rest, ...(entry === undefined ? [] : [entry])].sort((a, b) => a.tag - b.tag);
}

export interface ForgeOptions {
  main?: (entries: RawEntry[]) => RawEntry[];
  leadName?: string;
  headerSig?: (mainHeader: Buffer) => Uint8Array;
  /** legacy header+payload signature in 1005 */
  legacySig?: (mainHeader: Buffer, payload: Buffer) => Uint8Array;
  /** last edit of the signature header's entries (after the digests and signature are in) */
  sig?: (entries: RawEntry[]) => RawEntry[];
}

/**
 * Re-signs an EdDSA package (tag 267) with a test key after editing its main header; every digest
 * in the signature header is recomputed, so only the property under test differs from a good file.
 */
export function forgePackage(parts: PackageParts, signer: EdSigner, opts: ForgeOptions = {}): Buffer {
  const mainEntries = readEntries(parts.mainHeader, 'main');
  const mainHeader = Buffer.from(buildHeader('main', opts.main ? opts.main(mainEntries) : mainEntries));
  const payload = parts.payload;
  const blob = opts.headerSig ? opts.headerSig(mainHeader) : rawSign([mainHeader], signer);
  let sig = readEntries(parts.sigHeader, 'signature').filter((e) => e.tag !== 268 && e.tag !== 1002 && e.tag !== 1005);
  sig = replaceEntry(sig, 267, { tag: 267, type: 7, count: blob.length, data: blob });
  sig = replaceEntry(sig, 269, { tag: 269, type: 6, count: 1, data: Buffer.from(`${createHash('sha1').update(mainHeader).digest('hex')}\0`) });
  sig = replaceEntry(sig, 273, { tag: 273, type: 6, count: 1, data: Buffer.from(`${createHash('sha256').update(mainHeader).digest('hex')}\0`) });
  sig = replaceEntry(sig, 1000, { tag: 1000, type: 4, count: 1, data: u32be(mainHeader.length + payload.length) });
  sig = replaceEntry(sig, 1004, { tag: 1004, type: 7, count: 16, data: createHash('md5').update(mainHeader).update(payload).digest() });
  if (opts.legacySig) {
    const legacy = opts.legacySig(mainHeader, payload);
    sig = replaceEntry(sig, 1005, { tag: 1005, type: 7, count: legacy.length, data: legacy });
  }
  if (opts.sig) sig = opts.sig(sig);
  const sigHeader = Buffer.from(buildHeader('signature', sig));
  const dl = sigHeader.readUInt32BE(12);
  const pad = Buffer.alloc((8 - (dl % 8)) % 8);
  const lead = opts.leadName === undefined ? parts.lead : setLeadName(parts.lead, opts.leadName);
  return Buffer.concat([lead, sigHeader, pad, mainHeader, payload]);
}

export function stringEntry(tag: number, value: string): RawEntry {
  return { tag, type: 6, count: 1, data: Buffer.from(`${value}\0`, 'latin1') };
}

export function withEntry(entry: RawEntry): (entries: RawEntry[]) => RawEntry[] {
  return (entries) => replaceEntry(entries, entry.tag, entry);
}

export function withoutEntry(tag: number): (entries: RawEntry[]) => RawEntry[] {
  return (entries) => replaceEntry(entries, tag, undefined);
}
