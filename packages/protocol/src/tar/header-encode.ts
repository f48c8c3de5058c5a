import { BLOCK_SIZE, FIELDS, MAX_ENCODABLE_SIZE, USTAR_MAGIC, USTAR_VERSION, headerChecksum, type Field } from './layout.ts';

/**
 * The one header shape this project writes: a regular file, mode 0644, uid/gid 0, mtime 0, empty
 * owner names, zero device numbers, no prefix, no pax. The name must already have passed its rule.
 */
export function encodeHeaderBlock(name: string, size: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_ENCODABLE_SIZE) {
    throw new RangeError(`size ${size} does not fit a ustar size field`);
  }
  const block = new Uint8Array(BLOCK_SIZE);
  const ascii = (field: Field, text: string): void => {
    if (text.length > field.length) throw new RangeError(`"${text}" does not fit a ${field.length}-byte field`);
    for (let i = 0; i < text.length; i++) block[field.offset + i] = text.charCodeAt(i);
  };
  // Octal, zero-filled to width-1 digits, NUL-terminated (as GNU tar writes ustar).
  const octal = (field: Field, value: number): void => {
    ascii(field, value.toString(8).padStart(field.length - 1, '0'));
  };
  ascii(FIELDS.name, name);
  octal(FIELDS.mode, 0o644);
  octal(FIELDS.uid, 0);
  octal(FIELDS.gid, 0);
  octal(FIELDS.size, size);
  octal(FIELDS.mtime, 0);
  ascii(FIELDS.typeflag, '0');
  block.set(USTAR_MAGIC, FIELDS.magic.offset);
  block.set(USTAR_VERSION, FIELDS.version.offset);
  octal(FIELDS.devmajor, 0);
  octal(FIELDS.devminor, 0);
  // Checksum: six octal digits, NUL, space — the traditional layout every tar reads.
  ascii(FIELDS.checksum, `${headerChecksum(block).toString(8).padStart(6, '0')}\0 `);
  return block;
}
