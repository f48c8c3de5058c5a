/** Byte helpers for building hostile streams; every field is written exactly as given. */

const encoder = new TextEncoder();

export type ByteInput = string | Uint8Array;

/** Strings become their UTF-8 bytes: a test spells non-ASCII names as it means them. */
export function toBytes(value: ByteInput): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function zeros(length: number): Uint8Array {
  return new Uint8Array(length);
}

/** `value` in octal, zero-padded to `digits`, then NUL: the encoder's own spelling. */
export function octal(value: number, digits: number): string {
  return `${value.toString(8).padStart(digits, '0')}\0`;
}

/** `value` as a GNU base-256 number field of `length` bytes (its form for big or negative values). */
export function base256(value: bigint, length = 12): Uint8Array {
  const out = new Uint8Array(length);
  let v = value < 0n ? (1n << BigInt(8 * length)) + value : value;
  for (let i = length - 1; i >= 0; i -= 1) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[0] = (out[0] ?? 0) | 0x80;
  return out;
}
