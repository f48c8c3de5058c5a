import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { RpmVerifyError } from '../errors.ts';

/**
 * What rpm 4.18's own OpenPGP parser (rpmio/rpmpgp_internal.c, the one Debian 12's rpm is built
 * with; not rpm-sequoia) requires of a key before `rpmkeys --import` takes it. OpenPGP.js is more
 * lenient in places; a key rpm cannot import makes dom0's dnf refuse every package the receiver
 * published under it, so such a key is refused here, when the keyring loads. Each rule names the
 * rpm function it follows. The walk is over the unarmored bytes of one armored block. It also says
 * which subkeys rpm would import but never verify with (pgpPrtParamsSubkeys), so that the verifier
 * takes no signature of theirs either.
 */

/** RPM_MAX_OPENPGP_BYTES: pgpPrtParams refuses a larger certificate outright. */
const MAX_CERT_BYTES = 65535;

const TAG_SIGNATURE = 2;
const TAG_PUBLIC_KEY = 6;
const TAG_USER_ID = 13;
const TAG_PUBLIC_SUBKEY = 14;
const SIGTYPE_SUBKEY_BINDING = 0x18;
/** Key flag "may sign data" (RFC 9580 5.2.3.29), which rpm requires of a subkey's binding. */
const KEY_FLAG_SIGN = 0x02;

/** libgcrypt's MAX_EXTERN_MPI_BITS: gcry_mpi_scan refuses a longer OpenPGP MPI, and rpm with it. */
const MAX_MPI_BITS = 16384;

/** Hashes rpm 4.18's digest layer has (MD5, SHA-1, SHA-256/384/512, SHA-224): no RIPEMD, no SHA3. */
const RPM_HASHES: ReadonlySet<number> = new Set([1, 2, 8, 9, 10, 11]);

/** The one EdDSA curve rpm 4.18 (pgpSupportedCurve) verifies with: Ed25519's OID. */
const ED25519_OID = Uint8Array.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01]);

/** Subpacket types pgpPrtSubType implements, so that their critical bit is honoured. */
const SUBPACKET_CREATION_TIME = 2;
const SUBPACKET_ISSUER = 16;
const SUBPACKET_KEY_FLAGS = 27;

/** Signature MPIs per public-key algorithm (pgpSignatureNew): any other algorithm fails. */
const SIGNATURE_MPIS: ReadonlyMap<number, number> = new Map([
  [1, 1], // RSA
  [17, 2], // DSA
  [22, 2], // EdDSA
]);

/** Key MPIs per public-key algorithm (pgpPubkeyNew), after EdDSA's curve OID. */
const KEY_MPIS: ReadonlyMap<number, number> = new Map([
  [1, 2], // RSA
  [17, 4], // DSA
  [22, 1], // EdDSA
]);

/** What rpm makes of one certificate, for the verifier: the subkeys rpm would not verify with. */
export interface RpmCertificateView {
  /** the primary key's v4 fingerprint, lowercase hex */
  readonly fingerprint: string;
  /** every subkey's fingerprint, computed over its bytes as they stand */
  readonly subkeys: readonly string[];
  /** subkey fingerprint (lowercase hex) to why rpm leaves it out of its keyring */
  readonly subkeysRpmIgnores: ReadonlyMap<string, string>;
}

interface Packet {
  readonly tag: number;
  /** header and body */
  readonly bytes: Uint8Array;
  readonly body: Uint8Array;
}

class Refused extends Error {}

function refuse(reason: string): never {
  throw new Refused(reason);
}

/** pgpLen: 1, 2 or 5 length bytes; 224-254 (partial lengths) are not understood. 0 when it does not fit. */
function lengthOf(bytes: Uint8Array, at: number): { lengthBytes: number; length: number } {
  const available = bytes.length - at;
  const first = bytes[at] ?? 0;
  let lengthBytes = 0;
  let length = 0;
  if (first < 192) {
    lengthBytes = 1;
    length = first;
  } else if (first < 224 && available > 2) {
    lengthBytes = 2;
    length = ((first - 192) << 8) + (bytes[at + 1] ?? 0) + 192;
  } else if (first === 255 && available > 5) {
    lengthBytes = 5;
    length = ((bytes[at + 1] ?? 0) * 2 ** 24) + ((bytes[at + 2] ?? 0) << 16) + ((bytes[at + 3] ?? 0) << 8) + (bytes[at + 4] ?? 0);
  }
  return available - lengthBytes < length ? { lengthBytes: 0, length: 0 } : { lengthBytes, length };
}

/** decodePkt: old-format lengths of 1, 2 or 4 bytes (not indeterminate), new-format as pgpLen. */
function readPackets(bytes: Uint8Array): Packet[] {
  const packets: Packet[] = [];
  let at = 0;
  while (at < bytes.length) {
    const first = bytes[at] ?? 0;
    if (bytes.length - at < 2 || (first & 0x80) === 0) refuse(`bytes at offset ${at} are not an OpenPGP packet`);
    let tag: number;
    let lengthBytes: number;
    let length: number;
    if ((first & 0x40) !== 0) {
      tag = first & 0x3f;
      ({ lengthBytes, length } = lengthOf(bytes, at + 1));
      if (lengthBytes === 0) refuse(`packet at offset ${at} has a length rpm cannot read (a partial length, or past the end)`);
    } else {
      tag = (first >> 2) & 0x0f;
      lengthBytes = 1 << (first & 0x03);
      if (lengthBytes > 4) refuse(`packet at offset ${at} has an indeterminate length`);
      length = 0;
      for (let i = 1; i <= lengthBytes; i += 1) length = length * 256 + (bytes[at + i] ?? 0);
      if (at + 1 + lengthBytes > bytes.length) refuse(`packet at offset ${at} ends inside its length`);
    }
    const bodyStart = at + 1 + lengthBytes;
    if (bodyStart + length > bytes.length) refuse(`packet at offset ${at} runs past the end`);
    packets.push({ tag, bytes: bytes.subarray(at, bodyStart + length), body: bytes.subarray(bodyStart, bodyStart + length) });
    at = bodyStart + length;
  }
  return packets;
}

interface SubpacketFacts {
  readonly creationTime: boolean;
  /** the first byte of a hashed key-flags subpacket (0 when it is empty), if there is one */
  readonly keyFlags: number | undefined;
}

/** pgpPrtSubType over one subpacket area. */
function checkSubpackets(area: Uint8Array, hashed: boolean, what: string): SubpacketFacts {
  let creationTime = false;
  let keyFlags: number | undefined;
  let at = 0;
  while (at < area.length) {
    const { lengthBytes, length } = lengthOf(area, at);
    if (lengthBytes === 0 || length < 1) refuse(`${what}: a ${hashed ? 'hashed' : 'unhashed'} subpacket with a length rpm cannot read`);
    const typeByte = area[at + lengthBytes] ?? 0;
    const type = typeByte & 0x7f;
    let understood = false;
    if (type === SUBPACKET_CREATION_TIME && hashed && length - 1 === 4) {
      if (creationTime) refuse(`${what}: two creation times`);
      creationTime = true;
      understood = true;
    } else if (type === SUBPACKET_ISSUER) {
      understood = true;
    } else if (type === SUBPACKET_KEY_FLAGS && hashed) {
      if (keyFlags !== undefined) refuse(`${what}: two key-flags subpackets`);
      keyFlags = length >= 2 ? (area[at + lengthBytes + 1] ?? 0) : 0;
      understood = true;
    }
    if (!understood && (typeByte & 0x80) !== 0) refuse(`${what}: a critical ${hashed ? 'hashed' : 'unhashed'} subpacket of type ${type}, which rpm does not implement`);
    at += lengthBytes + length;
  }
  return { creationTime, keyFlags };
}

/**
 * processMpis with libgcrypt's setmpi: exactly `count` MPIs of at most 16384 bits each, ending at
 * the packet's end. The problem as text, or undefined.
 */
function mpiProblem(count: number, body: Uint8Array, start: number): string | undefined {
  let at = start;
  for (let i = 0; i < count; i += 1) {
    if (body.length - at < 2) return 'fewer MPIs than its algorithm has';
    const bits = ((body[at] ?? 0) << 8) | (body[at + 1] ?? 0);
    if (bits > MAX_MPI_BITS) return `an MPI of ${bits} bits (rpm reads at most ${MAX_MPI_BITS})`;
    at += 2 + Math.ceil(bits / 8);
    if (at > body.length) return "an MPI runs past the packet's end";
  }
  return at === body.length ? undefined : 'bytes after its MPIs';
}

/** pgpSignatureNew and processMpis over a signature's MPIs. */
function checkMpis(algorithm: number, body: Uint8Array, start: number, what: string): void {
  const count = SIGNATURE_MPIS.get(algorithm);
  if (count === undefined) refuse(`${what}: made with public-key algorithm ${algorithm}, which rpm cannot read`);
  const problem = mpiProblem(count, body, start);
  if (problem !== undefined) refuse(`${what}: ${problem}`);
}

/**
 * getPubkeyFingerprint and pgpPrtKey: a v4 key of an algorithm rpm 4.18 verifies with (RSA, DSA,
 * EdDSA on Ed25519), its MPIs exactly filling the packet. The problem as text, or undefined.
 */
function keyPacketProblem(body: Uint8Array): string | undefined {
  if (body[0] !== 4) return `a v${String(body[0])} key packet; rpm 4.18 reads v4 keys only`;
  if (body.length < 7) return 'a truncated key packet';
  const algorithm = body[5] ?? 0;
  const count = KEY_MPIS.get(algorithm);
  if (count === undefined) return `a key of public-key algorithm ${algorithm}, which rpm 4.18 cannot verify with`;
  let at = 6;
  if (algorithm === 22) {
    const oidLength = body[6] ?? 0;
    if (oidLength === 0 || oidLength === 0xff || body.length - 7 < oidLength) return 'an EdDSA key with a malformed curve OID';
    const oid = body.subarray(7, 7 + oidLength);
    if (oid.length !== ED25519_OID.length || oid.some((byte, i) => byte !== ED25519_OID[i])) return 'an EdDSA key on a curve other than Ed25519, which rpm 4.18 cannot verify with';
    at = 7 + oidLength;
  }
  const problem = mpiProblem(count, body, at);
  return problem === undefined ? undefined : `a key packet with ${problem}`;
}

/** hashKey: a key as fingerprints and binding signatures hash it, 0x99, a two-byte length and the body as it stands. */
function hashedForm(body: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.from([0x99, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
}

/** The v4 fingerprint of a key packet body. */
function fingerprintOf(body: Uint8Array): string {
  return createHash('sha1').update(hashedForm(body)).digest('hex');
}

interface SignatureFacts {
  readonly sigtype: number;
  readonly hashAlgorithm: number;
  /** from the hashed area; a v3 signature has none */
  readonly keyFlags: number | undefined;
}

/** pgpPrtSig: a v3 or v4 signature that rpm's parser reads through. */
function checkSignature(body: Uint8Array, what: string): SignatureFacts {
  const version = body[0];
  if (version === 3) {
    // pgpPktSigV3 is 19 bytes; its hashed length is always 5
    if (body.length <= 19 || body[1] !== 5) refuse(`${what}: a malformed v3 signature`);
    checkMpis(body[15] ?? 0, body, 19, what);
    return { sigtype: body[2] ?? 0, hashAlgorithm: body[16] ?? 0, keyFlags: undefined };
  }
  if (version !== 4) refuse(`${what}: a v${String(version)} signature; rpm 4.18 reads v3 and v4 only`);
  if (body.length <= 6) refuse(`${what}: a truncated signature`);
  const hashedLength = ((body[4] ?? 0) << 8) | (body[5] ?? 0);
  const hashedEnd = 6 + hashedLength;
  if (hashedEnd > body.length) refuse(`${what}: its hashed subpackets run past the packet's end`);
  const hashed = checkSubpackets(body.subarray(6, hashedEnd), true, what);
  if (!hashed.creationTime) refuse(`${what}: no hashed creation time`);
  if (body.length - hashedEnd < 2) refuse(`${what}: a truncated signature`);
  const unhashedLength = ((body[hashedEnd] ?? 0) << 8) | (body[hashedEnd + 1] ?? 0);
  const unhashedEnd = hashedEnd + 2 + unhashedLength;
  if (unhashedEnd > body.length) refuse(`${what}: its unhashed subpackets run past the packet's end`);
  checkSubpackets(body.subarray(hashedEnd + 2, unhashedEnd), false, what);
  if (body.length - unhashedEnd < 2) refuse(`${what}: no room for the hash's left 16 bits`);
  checkMpis(body[2] ?? 0, body, unhashedEnd + 2, what);
  return { sigtype: body[1] ?? 0, hashAlgorithm: body[3] ?? 0, keyFlags: hashed.keyFlags };
}

/** A key as OpenPGP.js asks it for a signature's hash, answered with its bytes as they stand. */
function asHashed(key: Packet): { writeForHash: () => Uint8Array } {
  return { writeForHash: () => hashedForm(key.body) };
}

/**
 * pgpVerifySelf: the binding signature right after a subkey must verify under the primary key,
 * over both keys' bytes as they stand (OpenPGP.js would hash its own re-encoding of them).
 */
async function bindingVerifies(primary: Packet, subkey: Packet, signature: Packet): Promise<boolean> {
  try {
    const key = new openpgp.PublicKeyPacket();
    await key.read(primary.body);
    const binding = new openpgp.SignaturePacket();
    binding.read(signature.body);
    const data = { key: asHashed(primary), bind: asHashed(subkey) } as unknown as { key: openpgp.PublicKeyPacket; bind: openpgp.PublicSubkeyPacket };
    // rpm checks no times and takes any hash it knows here; the hash policy is checkPinnedKey's
    await binding.verify(key, openpgp.enums.signature.subkeyBinding, data, null as unknown as Date, false, {
      ...openpgp.config,
      rejectHashAlgorithms: new Set(),
      minRSABits: 0,
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * pgpPrtParams over one certificate (a primary key packet and what follows up to the next one),
 * then pgpPrtParamsSubkeys: which subkeys rpm leaves out of its keyring, and why.
 */
async function checkCertificate(packets: readonly Packet[], size: number, what: string): Promise<RpmCertificateView> {
  if (size > MAX_CERT_BYTES) refuse(`${what} is ${size} bytes; rpm takes at most ${MAX_CERT_BYTES}`);
  const [primary] = packets;
  if (primary?.tag !== TAG_PUBLIC_KEY) refuse(`${what} does not start with a public key packet`);
  const primaryProblem = keyPacketProblem(primary.body);
  if (primaryProblem !== undefined) refuse(`${what}: ${primaryProblem}`);
  // pgpPrtParamsSubkeys copies the user ID to each subkey: with none, rpmkeys crashes (SIGSEGV)
  if (packets.some((p) => p.tag === TAG_PUBLIC_SUBKEY) && !packets.some((p) => p.tag === TAG_USER_ID)) {
    refuse(`${what} has subkeys but no user ID (rpm 4.18 crashes importing such a key)`);
  }
  const subkeysRpmIgnores = new Map<string, string>();
  for (const [index, packet] of packets.entries()) {
    const where = `${what}, packet ${index + 1}`;
    if (packet.tag === 0) refuse(`${where}: a packet of the reserved type 0`);
    const signature = packet.tag === TAG_SIGNATURE ? checkSignature(packet.body, `${where} (a signature)`) : undefined;
    const previous = packets[index - 1];
    if (previous?.tag !== TAG_PUBLIC_SUBKEY) continue;
    // rpm reads the packet right after a subkey as its binding signature, and nothing else
    if (signature?.sigtype !== SIGTYPE_SUBKEY_BINDING) {
      refuse(
        `${where}: the subkey before it is not followed directly by its binding signature` +
          (signature?.sigtype === 0x28 ? ' but by its revocation (gpg exports a revoked subkey so; rpm 4.18 then refuses the whole key: pin an export without the revoked subkey)' : ''),
      );
    }
    if (!RPM_HASHES.has(signature.hashAlgorithm)) refuse(`${where}: the binding signature of the subkey before it uses hash algorithm ${signature.hashAlgorithm}, which rpm 4.18 does not have (SHA3?)`);
    if (!(await bindingVerifies(primary, previous, packet))) refuse(`${where}: the binding signature of the subkey before it does not verify`);
    // pgpPrtParamsSubkeys: a subkey rpm cannot read, or whose first binding does not let it sign, is skipped
    const subkeyProblem = keyPacketProblem(previous.body);
    const cannotSign = ((signature.keyFlags ?? 0) & KEY_FLAG_SIGN) === 0;
    const ignored = subkeyProblem ?? (cannotSign ? 'the binding signature right after it (the only one rpm reads) does not set the signing flag' : undefined);
    if (ignored !== undefined) subkeysRpmIgnores.set(fingerprintOf(previous.body), ignored);
  }
  if (packets.at(-1)?.tag === TAG_PUBLIC_SUBKEY) refuse(`${what} ends with a subkey that has no binding signature`);
  const subkeys = packets.filter((p) => p.tag === TAG_PUBLIC_SUBKEY).map((p) => fingerprintOf(p.body));
  return { fingerprint: fingerprintOf(primary.body), subkeys, subkeysRpmIgnores };
}

/**
 * Throws KEYRING_PARSE when rpm 4.18 would refuse to import a key of this armored block (see the
 * module comment); otherwise returns, per key, the subkeys rpm would import but never verify with.
 * `where` names the block for the message.
 */
export async function checkKeyPacketsForRpm(armored: string, where: string): Promise<RpmCertificateView[]> {
  const data: unknown = (await openpgp.unarmor(armored)).data;
  if (!(data instanceof Uint8Array)) throw new RpmVerifyError('KEYRING_PARSE', `${where}: the armored block did not decode to bytes`);
  try {
    const packets = readPackets(data);
    // pgpPubKeyCertLen: a certificate runs from a public key packet to the next one
    const certificates: Packet[][] = [];
    for (const packet of packets) {
      if (packet.tag === TAG_PUBLIC_KEY || certificates.length === 0) certificates.push([]);
      certificates.at(-1)?.push(packet);
    }
    const views: RpmCertificateView[] = [];
    for (const [index, certificate] of certificates.entries()) {
      const size = certificate.reduce((sum, packet) => sum + packet.bytes.length, 0);
      views.push(await checkCertificate(certificate, size, `key ${index + 1}`));
    }
    return views;
  } catch (error) {
    if (error instanceof Refused) throw new RpmVerifyError('KEYRING_PARSE', `${where}: rpm 4.18 would refuse to import it: ${error.message}`);
    throw error;
  }
}

/**
 * The keys OpenPGP.js read from an armored block must be the ones rpm reads, fingerprint for
 * fingerprint: OpenPGP.js fingerprints its own re-encoding of a key packet (minimal MPIs, no
 * trailing bytes) and skips packets it cannot parse, rpm fingerprints the bytes as they stand.
 */
export function checkSameKeysAsRpm(views: readonly RpmCertificateView[], keys: readonly openpgp.Key[], where: string): void {
  const bad = (reason: string): never => {
    throw new RpmVerifyError('KEYRING_PARSE', `${where}: ${reason} (a key packet not in canonical form, or one OpenPGP.js skipped?)`);
  };
  const ours = keys.map((key) => key.getFingerprint());
  const rpms = views.map((view) => view.fingerprint);
  if (ours.join() !== rpms.join()) bad(`rpm 4.18 would read the keys ${rpms.join(', ')} where OpenPGP.js reads ${ours.join(', ')}`);
  for (const [index, key] of keys.entries()) {
    for (const subkey of key.subkeys) {
      if (!(views[index]?.subkeys.includes(subkey.getFingerprint()) ?? false)) bad(`subkey ${subkey.getFingerprint()} as OpenPGP.js reads it is not one rpm 4.18 would read`);
    }
  }
}
