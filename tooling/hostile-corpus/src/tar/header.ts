import { concatBytes, octal, toBytes, zeros, type ByteInput } from './bytes.ts';

/**
 * Every ustar header field, each as the raw bytes to place at its offset (NUL-padded to the
 * field's length, never truncated silently). Unset fields get what GNU tar writes for a plain
 * regular file, so a test changes only the field it attacks.
 */
export interface HeaderFields {
  name: ByteInput;
  mode: ByteInput;
  uid: ByteInput;
  gid: ByteInput;
  size: ByteInput | number;
  mtime: ByteInput;
  /** Raw bytes, or a computed sum: unsigned (the default, the real one) or the historic signed-char sum. */
  chksum: ByteInput | { sum: 'unsigned' | 'signed' };
  typeflag: ByteInput;
  linkname: ByteInput;
  magic: ByteInput;
  version: ByteInput;
  uname: ByteInput;
  gname: ByteInput;
  devmajor: ByteInput;
  devminor: ByteInput;
  prefix: ByteInput;
  /** bytes 500..511 (ustar leaves them unused; GNU puts atime/ctime-like data near here) */
  reserved: ByteInput;
}

interface FieldSpec {
  offset: number;
  length: number;
}

const LAYOUT: Record<Exclude<keyof HeaderFields, 'chksum'>, FieldSpec> & { chksum: FieldSpec } = {
  name: { offset: 0, length: 100 },
  mode: { offset: 100, length: 8 },
  uid: { offset: 108, length: 8 },
  gid: { offset: 116, length: 8 },
  size: { offset: 124, length: 12 },
  mtime: { offset: 136, length: 12 },
  chksum: { offset: 148, length: 8 },
  typeflag: { offset: 156, length: 1 },
  linkname: { offset: 157, length: 100 },
  magic: { offset: 257, length: 6 },
  version: { offset: 263, length: 2 },
  uname: { offset: 265, length: 32 },
  gname: { offset: 297, length: 32 },
  devmajor: { offset: 329, length: 8 },
  devminor: { offset: 337, length: 8 },
  prefix: { offset: 345, length: 155 },
  reserved: { offset: 500, length: 12 },
};

export const BLOCK = 512;

const DEFAULTS: Omit<HeaderFields, 'name' | 'size'> = {
  mode: octal(0o644, 7),
  uid: octal(0, 7),
  gid: octal(0, 7),
  mtime: octal(1704067200, 11),
  chksum: { sum: 'unsigned' },
  typeflag: '0',
  linkname: '',
  magic: 'ustar\0',
  version: '00',
  uname: 'root',
  gname: 'root',
  devmajor: '',
  devminor: '',
  prefix: '',
  reserved: '',
};

function place(block: Uint8Array, spec: FieldSpec, value: ByteInput, field: string): void {
  const bytes = toBytes(value);
  // A field longer than its slot would silently shift the test's meaning: refuse it here.
  if (bytes.length > spec.length) throw new RangeError(`tar field ${field}: ${bytes.length} bytes > ${spec.length}`);
  block.set(bytes, spec.offset);
}

/** The unsigned (or signed-char) header sum with the chksum field counted as spaces. */
export function headerSum(block: Uint8Array, signed: boolean): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i += 1) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    sum += signed && byte >= 0x80 ? byte - 256 : byte;
  }
  return sum;
}

/** One 512-byte header block from the given fields; `name` and `size` are required. */
export function ustarHeader(fields: Partial<HeaderFields> & Pick<HeaderFields, 'name' | 'size'>): Uint8Array {
  const all: HeaderFields = { ...DEFAULTS, ...fields };
  const block = zeros(BLOCK);
  for (const key of Object.keys(LAYOUT) as (keyof HeaderFields)[]) {
    if (key === 'chksum') continue;
    const value = all[key];
    const bytes = key === 'size' && typeof value === 'number' ? octal(value, 11) : (value as ByteInput);
    place(block, LAYOUT[key], bytes, key);
  }
  const chksum = all.chksum;
  if (typeof chksum === 'object' && !(chksum instanceof Uint8Array)) {
    const sum = headerSum(block, chksum.sum === 'signed');
    // GNU tar's spelling: six octal digits, NUL, space (a negative signed sum is written as is).
    place(block, LAYOUT.chksum, `${sum.toString(8).padStart(6, '0')}\0 `, 'chksum');
  } else {
    place(block, LAYOUT.chksum, chksum, 'chksum');
  }
  return block;
}

/** Zero bytes that round `length` up to a whole block. */
export function padding(length: number): Uint8Array {
  return zeros((BLOCK - (length % BLOCK)) % BLOCK);
}

export interface MemberOptions {
  /** Header fields to override; `size` defaults to the body length. */
  header?: Partial<HeaderFields>;
  /** Replaces the zero padding after the body. */
  padding?: Uint8Array;
}

/** Header, body and padding of one member. */
export function member(name: ByteInput, body: Uint8Array, options: MemberOptions = {}): Uint8Array {
  const header = ustarHeader({ name, size: body.length, ...options.header });
  return concatBytes([header, body, options.padding ?? padding(body.length)]);
}

/** The two zero blocks that end an archive. */
export function endMarker(): Uint8Array {
  return zeros(2 * BLOCK);
}

/** A complete archive: the members, then the end marker. */
export function archive(members: readonly Uint8Array[]): Uint8Array {
  return concatBytes([...members, endMarker()]);
}
