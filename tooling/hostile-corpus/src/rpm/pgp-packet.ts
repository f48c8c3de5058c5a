import { concatBytes } from '../tar/bytes.ts';

/** One OpenPGP packet as gpg writes it: the header (tag and length) and the body. */
export interface PgpPacket {
  header: Uint8Array;
  body: Uint8Array;
}

/** Splits a single-packet blob (old or new format; test input, trusted to be well formed). */
export function splitPacket(blob: Uint8Array): PgpPacket {
  const first = blob[0] ?? 0;
  let headerLength: number;
  if ((first & 0x40) !== 0) {
    const l0 = blob[1] ?? 0;
    headerLength = l0 < 192 ? 2 : l0 < 224 ? 3 : 6;
  } else {
    headerLength = [2, 3, 5][first & 0x03] ?? 1;
  }
  return { header: blob.slice(0, headerLength), body: blob.slice(headerLength) };
}

/** A signature packet (tag 2) around `body` in the old format with a given length size (1, 2 or 4 bytes). */
export function oldFormatSignature(body: Uint8Array, lengthBytes: 1 | 2 | 4): Uint8Array {
  const lengthType = { 1: 0, 2: 1, 4: 2 }[lengthBytes];
  const length = new Uint8Array(lengthBytes);
  for (let i = 0; i < lengthBytes; i += 1) length[lengthBytes - 1 - i] = (body.length >>> (8 * i)) & 0xff;
  return concatBytes([Uint8Array.of(0x88 | lengthType), length, body]);
}

/** A signature packet (tag 2) in the new format, with the five-byte length form whatever the size. */
export function newFormatLongSignature(body: Uint8Array): Uint8Array {
  const n = body.length;
  return concatBytes([Uint8Array.of(0xc2, 0xff, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff), body]);
}

/** The blob with one byte of its packet body replaced (0: version, 1: signature type, 2: key algorithm, 3: hash). */
export function withBodyByte(blob: Uint8Array, index: number, value: number): Uint8Array {
  const { header, body } = splitPacket(blob);
  const out = body.slice();
  out[index] = value;
  return concatBytes([header, out]);
}
