/** Byte layout of a POSIX ustar header block (IEEE Std 1003.1, pax "ustar Interchange Format"). */
export const BLOCK_SIZE = 512;

export interface Field {
  readonly offset: number;
  readonly length: number;
}

export const FIELDS = {
  name: { offset: 0, length: 100 },
  mode: { offset: 100, length: 8 },
  uid: { offset: 108, length: 8 },
  gid: { offset: 116, length: 8 },
  size: { offset: 124, length: 12 },
  mtime: { offset: 136, length: 12 },
  checksum: { offset: 148, length: 8 },
  typeflag: { offset: 156, length: 1 },
  linkname: { offset: 157, length: 100 },
  magic: { offset: 257, length: 6 },
  version: { offset: 263, length: 2 },
  uname: { offset: 265, length: 32 },
  gname: { offset: 297, length: 32 },
  devmajor: { offset: 329, length: 8 },
  devminor: { offset: 337, length: 8 },
  prefix: { offset: 345, length: 155 },
  pad: { offset: 500, length: 12 },
} as const satisfies Record<string, Field>;

export const USTAR_MAGIC = Uint8Array.from([0x75, 0x73, 0x74, 0x61, 0x72, 0x00]); // "ustar\0"
export const USTAR_VERSION = Uint8Array.from([0x30, 0x30]); // "00"

/** Largest size an 11-digit octal field (plus terminator) can express: 8 GiB - 1. */
export const MAX_ENCODABLE_SIZE = 0o77777777777;

export function fieldOf(block: Uint8Array, field: Field): Uint8Array {
  return block.subarray(field.offset, field.offset + field.length);
}

export function isZero(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

/** The POSIX checksum: unsigned sum of all header bytes with the checksum field read as spaces. */
export function headerChecksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const inChecksum = i >= FIELDS.checksum.offset && i < FIELDS.checksum.offset + FIELDS.checksum.length;
    sum += inChecksum ? 0x20 : (block[i] ?? 0);
  }
  return sum;
}
