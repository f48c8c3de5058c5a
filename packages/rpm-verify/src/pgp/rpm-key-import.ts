import * as openpgp from 'openpgp';
import { RpmVerifyError } from '../errors.ts';

/**
 * What rpm 4.18's own OpenPGP parser (rpmio/rpmpgp_internal.c, the one Debian 12's rpm is built
 * with; not rpm-sequoia) requires of a key before `rpmkeys --import` takes it. OpenPGP.js is more
 * lenient in places; a key rpm cannot import makes dom0's dnf refuse every package the receiver
 * published under it, so such a key is refused here, when the keyring loads. Each rule names the
 * rpm function it follows. The walk is over the unarmored bytes of one armored block.
 */

/** RPM_MAX_OPENPGP_BYTES: pgpPrtParams refuses a larger certificate outright. */
const MAX_CERT_BYTES = 65535;

const TAG_SIGNATURE = 2;
const TAG_PUBLIC_KEY = 6;
const TAG_PUBLIC_SUBKEY = 14;
const SIGTYPE_SUBKEY_BINDING = 0x18;

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

/** pgpPrtSubType over one subpacket area; returns whether a hashed creation time was found. */
function checkSubpackets(area: Uint8Array, hashed: boolean, what: string): boolean {
  let creationTime = false;
  let keyFlags = false;
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
      if (keyFlags) refuse(`${what}: two key-flags subpackets`);
      keyFlags = true;
      understood = true;
    }
    if (!understood && (typeByte & 0x80) !== 0) refuse(`${what}: a critical ${hashed ? 'hashed' : 'unhashed'} subpacket of type ${type}, which rpm does not implement`);
    at += lengthBytes + length;
  }
  return creationTime;
}

/** processMpis: exactly the algorithm's number of MPIs, ending at the packet's end. */
function checkMpis(algorithm: number, body: Uint8Array, start: number, what: string): void {
  const count = SIGNATURE_MPIS.get(algorithm);
  if (count === undefined) refuse(`${what}: made with public-key algorithm ${algorithm}, which rpm cannot read`);
  let at = start;
  for (let i = 0; i < count; i += 1) {
    if (body.length - at < 2) refuse(`${what}: fewer MPIs than its algorithm has`);
    const bits = ((body[at] ?? 0) << 8) | (body[at + 1] ?? 0);
    at += 2 + Math.ceil(bits / 8);
    if (at > body.length) refuse(`${what}: an MPI runs past the packet's end`);
  }
  if (at !== body.length) refuse(`${what}: bytes after its MPIs`);
}

/** pgpPrtSig: a v3 or v4 signature that rpm's parser reads through. */
function checkSignature(body: Uint8Array, what: string): number {
  const version = body[0];
  if (version === 3) {
    // pgpPktSigV3 is 19 bytes; its hashed length is always 5
    if (body.length <= 19 || body[1] !== 5) refuse(`${what}: a malformed v3 signature`);
    checkMpis(body[15] ?? 0, body, 19, what);
    return body[2] ?? 0;
  }
  if (version !== 4) refuse(`${what}: a v${String(version)} signature; rpm 4.18 reads v3 and v4 only`);
  if (body.length <= 6) refuse(`${what}: a truncated signature`);
  const hashedLength = ((body[4] ?? 0) << 8) | (body[5] ?? 0);
  const hashedEnd = 6 + hashedLength;
  if (hashedEnd > body.length) refuse(`${what}: its hashed subpackets run past the packet's end`);
  if (!checkSubpackets(body.subarray(6, hashedEnd), true, what)) refuse(`${what}: no hashed creation time`);
  if (body.length - hashedEnd < 2) refuse(`${what}: a truncated signature`);
  const unhashedLength = ((body[hashedEnd] ?? 0) << 8) | (body[hashedEnd + 1] ?? 0);
  const unhashedEnd = hashedEnd + 2 + unhashedLength;
  if (unhashedEnd > body.length) refuse(`${what}: its unhashed subpackets run past the packet's end`);
  checkSubpackets(body.subarray(hashedEnd + 2, unhashedEnd), false, what);
  if (body.length - unhashedEnd < 2) refuse(`${what}: no room for the hash's left 16 bits`);
  checkMpis(body[2] ?? 0, body, unhashedEnd + 2, what);
  return body[1] ?? 0;
}

/** pgpVerifySelf: the binding signature right after a subkey must verify under the primary key. */
async function bindingVerifies(primary: Packet, subkey: Packet, signature: Packet): Promise<boolean> {
  try {
    const key = new openpgp.PublicKeyPacket();
    await key.read(primary.body);
    const sub = new openpgp.PublicSubkeyPacket();
    await sub.read(subkey.body);
    const binding = new openpgp.SignaturePacket();
    binding.read(signature.body);
    // rpm checks no times and takes any hash it knows here; the hash policy is checkPinnedKey's
    await binding.verify(key, openpgp.enums.signature.subkeyBinding, { key, bind: sub }, null as unknown as Date, false, {
      ...openpgp.config,
      rejectHashAlgorithms: new Set(),
      minRSABits: 0,
    });
    return true;
  } catch {
    return false;
  }
}

/** pgpPrtParams over one certificate (a primary key packet and what follows up to the next one). */
async function checkCertificate(packets: readonly Packet[], size: number, what: string): Promise<void> {
  if (size > MAX_CERT_BYTES) refuse(`${what} is ${size} bytes; rpm takes at most ${MAX_CERT_BYTES}`);
  const [primary] = packets;
  if (primary?.tag !== TAG_PUBLIC_KEY) refuse(`${what} does not start with a public key packet`);
  for (const [index, packet] of packets.entries()) {
    const where = `${what}, packet ${index + 1}`;
    if (packet.tag === 0) refuse(`${where}: a packet of the reserved type 0`);
    const sigtype = packet.tag === TAG_SIGNATURE ? checkSignature(packet.body, `${where} (a signature)`) : undefined;
    const previous = packets[index - 1];
    if (previous?.tag !== TAG_PUBLIC_SUBKEY) continue;
    // rpm reads the packet right after a subkey as its binding signature, and nothing else
    if (sigtype !== SIGTYPE_SUBKEY_BINDING) {
      refuse(
        `${where}: the subkey before it is not followed directly by its binding signature` +
          (sigtype === 0x28 ? ' but by its revocation (gpg exports a revoked subkey so; rpm 4.18 then refuses the whole key: pin an export without the revoked subkey)' : ''),
      );
    }
    if (!(await bindingVerifies(primary, previous, packet))) refuse(`${where}: the binding signature of the subkey before it does not verify`);
  }
  if (packets.at(-1)?.tag === TAG_PUBLIC_SUBKEY) refuse(`${what} ends with a subkey that has no binding signature`);
}

/**
 * Throws KEYRING_PARSE when rpm 4.18 would refuse to import a key of this armored block (see the
 * module comment). `where` names the block for the message.
 */
export async function checkKeyPacketsForRpm(armored: string, where: string): Promise<void> {
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
    for (const [index, certificate] of certificates.entries()) {
      const size = certificate.reduce((sum, packet) => sum + packet.bytes.length, 0);
      await checkCertificate(certificate, size, `key ${index + 1}`);
    }
  } catch (error) {
    if (error instanceof Refused) throw new RpmVerifyError('KEYRING_PARSE', `${where}: rpm 4.18 would refuse to import it: ${error.message}`);
    throw error;
  }
}
