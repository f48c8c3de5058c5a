import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, rpmAccepts, type Loaded } from './support/fixtures.ts';
import { encodeSubpackets, oldFormatPacket, sub } from './support/forge.ts';
import { readEntries, type RawEntry } from './support/header-builder.ts';
import { rebuild, splitPackage, type PackageParts } from './support/package-bytes.ts';
import { outcome, verifyBytes } from './support/verify-bytes.ts';
import { parseSignatureBlob } from '../src/pgp/signature-blob.ts';

let fx: Loaded;
let rsa: PackageParts;
let ed: PackageParts;
let dir: string;
beforeAll(async () => {
  fx = await fixtures();
  rsa = splitPackage(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-rsa')!.path));
  ed = splitPackage(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-ed25519')!.path));
  dir = await mkdtemp(join(tmpdir(), 'rpm-verify-blob-'));
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});


/** The header signature's packet split into its fields (gpg writes old-format packets). */
interface Blob {
  tag: number;
  body: Buffer;
  hashedEnd: number;
  unhashedEnd: number;
}

function blobOf(parts: PackageParts): Blob {
  const e = readEntries(parts.sigHeader, 'signature').find((x) => x.tag === 267 || x.tag === 268)!;
  const b = Buffer.from(e.data);
  const start = (b[0]! & 0x03) === 0 ? 2 : 3;
  const body = b.subarray(start);
  const hashedEnd = 6 + body.readUInt16BE(4);
  const unhashedEnd = hashedEnd + 2 + body.readUInt16BE(hashedEnd);
  return { tag: e.tag, body, hashedEnd, unhashedEnd };
}

function withBlob(parts: PackageParts, tag: number, blob: Uint8Array): Buffer {
  return rebuild(parts, { sig: (es: RawEntry[]) => es.map((e) => (e.tag === tag ? { ...e, data: blob, count: blob.length } : e)) });
}

function withUnhashed(b: Blob, area: Uint8Array): Buffer {
  const head = b.body.subarray(0, b.hashedEnd);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(area.length);
  return oldFormatPacket(Buffer.concat([head, len, area, b.body.subarray(b.unhashedEnd)]));
}

function withBody(b: Blob, edit: (body: Buffer) => Buffer): Buffer {
  return oldFormatPacket(edit(Buffer.from(b.body)));
}

describe('signature blob framing on real gpg signatures', () => {
  it('accepts the same packet in new format with a minimal length, and rejects non-minimal lengths', async () => {
    for (const parts of [rsa, ed]) {
      const b = blobOf(parts);
      const n = b.body.length;
      const newFormat = n < 192 ? Buffer.from([0xc2, n]) : Buffer.from([0xc2, ((n - 192) >> 8) + 192, (n - 192) & 0xff]);
      expect(await outcome(withBlob(parts, b.tag, Buffer.concat([newFormat, b.body])), fx.trusted)).toBe('ACCEPTED');
      const fiveOctet = Buffer.from([0xc2, 0xff, 0, 0, n >> 8, n & 0xff]);
      expect(await outcome(withBlob(parts, b.tag, Buffer.concat([fiveOctet, b.body])), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
      const oldFour = Buffer.from([0x8a, 0, 0, n >> 8, n & 0xff]);
      expect(await outcome(withBlob(parts, b.tag, Buffer.concat([oldFour, b.body])), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    }
    const e = blobOf(ed);
    const oldTwo = Buffer.from([0x89, 0, e.body.length]);
    const longForm = withBlob(ed, e.tag, Buffer.concat([oldTwo, e.body]));
    expect(await outcome(longForm, fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    // rpm 4.18 accepts this re-encoding of the same signature: one of its malleable forms
    expect(await rpmAccepts(dir, longForm, 'longlen.rpm')).toBe(true);
  });

  it('rejects a partial-length, indeterminate-length or non-signature packet, and a marker packet before it', async () => {
    const b = blobOf(ed);
    expect(await outcome(withBlob(ed, b.tag, Buffer.concat([Buffer.from([0xc2, 0xe0]), b.body])), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    expect(await outcome(withBlob(ed, b.tag, Buffer.concat([Buffer.from([0x8b]), b.body])), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    expect(await outcome(withBlob(ed, b.tag, Buffer.concat([Buffer.from([0x8c, b.body.length]), b.body])), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    const marker = Buffer.from([0xa8, 0x03, 0x50, 0x47, 0x50]);
    expect(await outcome(withBlob(ed, b.tag, Buffer.concat([marker, oldFormatPacket(b.body)])), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
  });

  it('rejects a signature value with a wrong bit count or a leading zero byte (same value, another encoding)', async () => {
    for (const parts of [rsa, ed]) {
      const b = blobOf(parts);
      const at = b.unhashedEnd + 2;
      const bits = b.body.readUInt16BE(at);
      const bytes = Math.ceil(bits / 8);
      const otherBits = withBody(b, (body) => {
        body.writeUInt16BE(bits === bytes * 8 ? bits - 1 : bits + 1, at);
        return body;
      });
      expect(await outcome(withBlob(parts, b.tag, otherBits), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
      const padded = withBody(b, (body) => {
        const head = Buffer.alloc(2);
        head.writeUInt16BE(bits + 8);
        return Buffer.concat([body.subarray(0, at), head, Buffer.from([0]), body.subarray(at + 2)]);
      });
      expect(await outcome(withBlob(parts, b.tag, padded), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
      await expect(verifyBytes(withBlob(parts, b.tag, padded), fx.trusted)).rejects.toThrow(
        `signature MPI 1 of ${parts === rsa ? 1 : 2} is not minimal: its bit count ${bits + 8} is not the length of its value`,
      );
    }
  });

  it('rejects data smuggled into the unhashed area of a real signature, which rpm accepts', async () => {
    const b = blobOf(rsa);
    const keyId = b.body.subarray(b.hashedEnd + 4, b.hashedEnd + 12);
    expect(await outcome(withBlob(rsa, b.tag, withUnhashed(b, encodeSubpackets([sub.issuerKeyId(keyId)]))), fx.trusted)).toBe('ACCEPTED');
    // gpg keeps the issuer key ID in the unhashed area: without it rpm finds no key (NOKEY), and so do we
    const noKeyId = withBlob(rsa, b.tag, withUnhashed(b, new Uint8Array(0)));
    expect(await outcome(noKeyId, fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    expect(await rpmAccepts(dir, noKeyId, 'no-key-id.rpm')).toBe(false);
    const smuggled = withBlob(rsa, b.tag, withUnhashed(b, encodeSubpackets([sub.issuerKeyId(keyId), sub.notation('x@example.invalid', 'A'.repeat(200), false)])));
    expect(await outcome(smuggled, fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    expect(await rpmAccepts(dir, smuggled, 'unhashed.rpm')).toBe(true);
    const wildcard = withBlob(rsa, b.tag, withUnhashed(b, encodeSubpackets([sub.issuerKeyId(Buffer.alloc(8))])));
    expect(await outcome(wildcard, fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    const otherId = withBlob(rsa, b.tag, withUnhashed(b, encodeSubpackets([sub.issuerKeyId(blobOf(ed).body.subarray(blobOf(ed).hashedEnd + 4, blobOf(ed).hashedEnd + 12))])));
    expect(await outcome(otherId, fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
  });

  it('rejects an RSA signature value raised by multiples of the modulus (same signature mod n), which rpm accepts', async () => {
    const rsaPkg = fx.set.rpmv3.find((p) => p.signer === 'trusted-rsa');
    if (rsaPkg === undefined) throw new Error('no RSA --rpmv3 fixture');
    const withLegacy = splitPackage(await readFile(rsaPkg.path));
    const keys = await Promise.all(fx.set.trustedKeyPaths.map(async (path) => openpgp.readKey({ armoredKey: await readFile(path, 'utf8') })));
    const moduli = keys.flatMap((k) => k.getKeys()).flatMap((k) => {
      const { n } = k.keyPacket.publicParams as { n?: unknown };
      return n instanceof Uint8Array ? [BigInt(`0x${Buffer.from(n).toString('hex')}`)] : [];
    });
    expect(moduli).toHaveLength(1);
    const n = moduli[0]!;
    const raised = (b: Blob, k: bigint): Buffer =>
      withBody(b, (body) => {
        const at = b.unhashedEnd + 2;
        const value = BigInt(`0x${body.subarray(at + 2).toString('hex')}`) + k * n;
        const hex = value.toString(16);
        const bytes = Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
        const bits = Buffer.alloc(2);
        bits.writeUInt16BE(value.toString(2).length);
        return Buffer.concat([body.subarray(0, at), bits, bytes]);
      });
    const header = blobOf(rsa);
    expect(header.tag).toBe(268);
    for (const k of [1n, 2n, 255n]) {
      const forged = withBlob(rsa, 268, raised(header, k));
      expect([k, await outcome(forged, fx.trusted)]).toEqual([k, 'RPM_SIG_BLOB_BAD']);
      await expect(verifyBytes(forged, fx.trusted)).rejects.toThrow('signature tag 268: RSA signature value is not below the key modulus');
    }
    // rpm 4.18 reduces the value mod n and accepts it: one of its malleable forms
    expect(await rpmAccepts(dir, withBlob(rsa, 268, raised(header, 1n)), 'rsa-s-plus-n.rpm')).toBe(true);
    // the legacy header+payload signature (1002) is held to the same rule
    const legacyEntry = readEntries(withLegacy.sigHeader, 'signature').find((e) => e.tag === 1002);
    if (legacyEntry === undefined) throw new Error('the --rpmv3 RSA fixture has no tag 1002');
    const legacy = Buffer.from(legacyEntry.data);
    const start = (legacy[0]! & 0x03) === 0 ? 2 : 3;
    const legacyBody = legacy.subarray(start);
    const hashedEnd = 6 + legacyBody.readUInt16BE(4);
    const legacyBlob: Blob = { tag: 1002, body: legacyBody, hashedEnd, unhashedEnd: hashedEnd + 2 + legacyBody.readUInt16BE(hashedEnd) };
    expect(await outcome(withBlob(withLegacy, 1002, raised(legacyBlob, 1n)), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    // and the unchanged packages still pass (the check is not what rejects)
    expect(await outcome(withBlob(withLegacy, 1002, raised(legacyBlob, 0n)), fx.trusted)).toBe('ACCEPTED');
    expect(await outcome(withBlob(rsa, 268, raised(header, 0n)), fx.trusted)).toBe('ACCEPTED');
  });

  it('rejects an Ed25519 signature whose S is raised by the group order (not canonical), which rpm accepts', async () => {
    const b = blobOf(ed);
    const rAt = b.unhashedEnd + 2;
    const sAt = rAt + 2 + Math.ceil(b.body.readUInt16BE(rAt) / 8);
    const order = 2n ** 252n + 27742317777372353535851937790883648493n;
    // the MPI holds S's native 32-byte little-endian encoding, leading zero bytes stripped
    const stored = b.body.subarray(sAt + 2);
    const native = Buffer.alloc(32);
    stored.copy(native, 32 - stored.length);
    const s = BigInt(`0x${Buffer.from(native).reverse().toString('hex')}`);
    expect(s < order).toBe(true);
    const raisedNative = Buffer.from((s + order).toString(16).padStart(64, '0'), 'hex').reverse();
    let first = 0;
    while (first < 31 && raisedNative[first] === 0) first += 1;
    const mpi = raisedNative.subarray(first);
    const bits = Buffer.alloc(2);
    bits.writeUInt16BE((mpi.length - 1) * 8 + (32 - Math.clz32(mpi[0] ?? 0)));
    const raised = withBlob(ed, b.tag, withBody(b, (body) => Buffer.concat([body.subarray(0, sAt), bits, mpi])));
    expect(await outcome(raised, fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    await expect(verifyBytes(raised, fx.trusted)).rejects.toThrow('signature tag 267: Ed25519 signature value S is not below the group order');
    // rpm 4.18 reduces S and accepts it: one more of its malleable forms
    expect(await rpmAccepts(dir, raised, 'ed-s-plus-l.rpm')).toBe(true);
    // the same arithmetic without the raise gives back the genuine, accepted signature
    const same = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
    expect(same.subarray(32 - stored.length).equals(stored) && same.subarray(0, 32 - stored.length).every((x) => x === 0)).toBe(true);
  });

  it('rejects v3, v5 and v6 packets, RSA sign-only (which rpm 4.18 cannot read), DSA and ECDSA algorithms, and weak hashes, each with its own code', async () => {
    const b = blobOf(rsa);
    const patched = (i: number, v: number) =>
      withBlob(
        rsa,
        b.tag,
        withBody(b, (body) => {
          body[i] = v;
          return body;
        }),
      );
    for (const version of [3, 5, 6]) expect(await outcome(patched(0, version), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
    for (const algo of [3, 17, 19, 27]) expect(await outcome(patched(2, algo), fx.trusted)).toBe('RPM_WEAK_KEY');
    expect(await rpmAccepts(dir, patched(2, 3), 'rsa-sign-only.rpm')).toBe(false);
    for (const hash of [1, 2, 3, 11]) expect(await outcome(patched(3, hash), fx.trusted)).toBe('RPM_WEAK_HASH');
    // a hash the packet names but did not use: the digest no longer matches
    expect(await outcome(patched(3, 8), fx.trusted)).toBe('RPM_SIG_BAD');
  });

  it('rejects a hashed area whose subpacket lengths overrun it', async () => {
    const b = blobOf(ed);
    const bad = withBody(b, (body) => {
      body[6] = 0xfe; // first hashed subpacket claims a two-octet length far past the area
      return body;
    });
    expect(await outcome(withBlob(ed, b.tag, bad), fx.trusted)).toBe('RPM_SIG_BLOB_BAD');
  });

  it('names the framing fault itself, before OpenPGP.js sees the packet', () => {
    const b = blobOf(ed);
    const parse = (blob: Uint8Array) => () => parseSignatureBlob(blob, b.tag, 'x.rpm');
    expect(parse(Buffer.concat([oldFormatPacket(b.body), Buffer.from([0])]))).toThrow('trailing bytes after the signature packet');
    for (const version of [3, 5, 6]) {
      const other = Buffer.from(b.body);
      other[0] = version;
      expect(parse(oldFormatPacket(other))).toThrow(`signature packet version ${String(version)} (only v4 is accepted)`);
    }
    // a packet that ends right after its hashed area, without the unhashed area's length
    expect(parse(oldFormatPacket(b.body.subarray(0, b.hashedEnd)))).toThrow(/: hashed subpackets overrun the packet$/);
    expect(parse(oldFormatPacket(b.body.subarray(0, b.hashedEnd + 1)))).toThrow(/: hashed subpackets overrun the packet$/);
  });

  it('takes a five-octet length only for bodies of 8384 bytes or more, the first its two-octet form cannot hold', () => {
    const fiveOctet = (n: number) => Buffer.concat([Buffer.from([0xc2, 0xff, 0, 0, n >> 8, n & 0xff]), Buffer.alloc(n)]);
    expect(() => parseSignatureBlob(fiveOctet(8383), 267, 'x.rpm')).toThrow('packet length 8383 is not in its shortest encoding');
    // 8384 passes the length check and fails on the (zero) body that follows
    expect(() => parseSignatureBlob(fiveOctet(8384), 267, 'x.rpm')).toThrow('signature packet version 0');
  });

  it('rejects a zero-length hashed subpacket, naming it', () => {
    const created = encodeSubpackets([sub.created(new Date('2024-01-02T00:00:00Z'))]);
    for (const hashed of [Buffer.concat([Buffer.from([0]), created]), Buffer.concat([created, Buffer.from([0])])]) {
      const body = Buffer.concat([Buffer.from([4, 0, 22, 8, 0, hashed.length]), hashed, Buffer.from([0, 0, 0xab, 0xcd, 0, 8, 0xff, 0, 8, 0xff])]);
      expect(() => parseSignatureBlob(oldFormatPacket(body), 267, 'x.rpm')).toThrow('signature tag 267: a subpacket has length 0');
    }
  });
});
