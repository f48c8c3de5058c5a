import * as openpgp from 'openpgp';

/** One packet of an exported key: its tag and where its header, body and end lie. */
export interface KeyPacket {
  readonly tag: number;
  readonly start: number;
  readonly bodyStart: number;
  readonly end: number;
}

/** Packet boundaries of an exported key (gpg's old-format headers, OpenPGP.js's new-format ones). */
export function packets(bytes: Uint8Array): KeyPacket[] {
  const out = [];
  let at = 0;
  while (at < bytes.length) {
    const first = bytes[at]!;
    let tag: number;
    let lengthBytes: number;
    let length = 0;
    if ((first & 0x40) === 0) {
      tag = (first >> 2) & 0x0f;
      lengthBytes = 1 << (first & 0x03);
      for (let i = 1; i <= lengthBytes; i += 1) length = length * 256 + bytes[at + i]!;
    } else {
      tag = first & 0x3f;
      const octet = bytes[at + 1]!;
      lengthBytes = octet < 192 ? 1 : octet < 224 ? 2 : 5;
      length = octet < 192 ? octet : octet < 224 ? ((octet - 192) << 8) + bytes[at + 2]! + 192 : new DataView(bytes.buffer, bytes.byteOffset + at + 2, 4).getUint32(0);
    }
    const bodyStart = at + 1 + lengthBytes;
    out.push({ tag, start: at, bodyStart, end: bodyStart + length });
    at = bodyStart + length;
  }
  return out;
}

/** The bytes of an armored key. */
export async function binaryOf(armored: string): Promise<Uint8Array> {
  return (await openpgp.unarmor(armored)).data as Uint8Array;
}

/** Key bytes armored as a public key block, with the CRC-24 line rpm requires. */
export function rearmor(bytes: Uint8Array): string {
  return openpgp.armor(openpgp.enums.armor.publicKey, bytes, undefined, undefined, undefined, true);
}
