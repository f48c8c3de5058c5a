import { RpmVerifyError, type RpmErrorCode } from '../errors.ts';
import type { HeaderEntry } from './structure.ts';
import { HeaderType, type HeaderTypeCode } from './types.ts';

/** Typed readers: each insists on the exact type (and count where given) or throws `code`. */
export interface EntryReader {
  readonly code: RpmErrorCode;
  readonly where: string;
  readonly member: string | undefined;
}

function expect(entry: HeaderEntry, type: HeaderTypeCode, count: number | undefined, r: EntryReader): void {
  if (entry.type !== type || (count !== undefined && entry.count !== count)) {
    throw new RpmVerifyError(
      r.code,
      `${r.where}: tag ${entry.tag} has type ${entry.type} count ${entry.count}, expected type ${type}${count === undefined ? '' : ` count ${count}`}`,
      r.member,
    );
  }
}

/** The entry's bytes without the last NUL, decoded in place (Buffer.from of a typed array would copy). */
function textOf(entry: HeaderEntry): string {
  const data = entry.data;
  return Buffer.from(data.buffer, data.byteOffset, data.length - 1).toString('latin1');
}

/** A value too long for its field is refused before it is decoded: a 32 MiB NAME costs nothing. */
function checkLength(entry: HeaderEntry, maxBytes: number, r: EntryReader): void {
  if (entry.data.length - 1 > maxBytes) {
    throw new RpmVerifyError(r.code, `${r.where}: tag ${entry.tag} holds ${entry.data.length - 1} bytes, more than the ${maxBytes} its field can have`, r.member);
  }
}

/** One STRING of at most `maxBytes` bytes (its NUL not counted). */
export function readString(entry: HeaderEntry, maxBytes: number, r: EntryReader): string {
  expect(entry, HeaderType.STRING, 1, r);
  checkLength(entry, maxBytes, r);
  return textOf(entry);
}

/** A STRING_ARRAY of at most `maxBytes` bytes in all (the separating NULs counted, the last not). */
export function readStringArray(entry: HeaderEntry, count: number | undefined, maxBytes: number, r: EntryReader): string[] {
  expect(entry, HeaderType.STRING_ARRAY, count, r);
  checkLength(entry, maxBytes, r);
  return textOf(entry).split('\0');
}

export function readUint32(entry: HeaderEntry, r: EntryReader): number {
  expect(entry, HeaderType.INT32, 1, r);
  return new DataView(entry.data.buffer, entry.data.byteOffset, 4).getUint32(0);
}

export function readUint64(entry: HeaderEntry, r: EntryReader): number {
  expect(entry, HeaderType.INT64, 1, r);
  const value = new DataView(entry.data.buffer, entry.data.byteOffset, 8).getBigUint64(0);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RpmVerifyError(r.code, `${r.where}: tag ${entry.tag} value is implausibly large`, r.member);
  }
  return Number(value);
}

export function readBin(entry: HeaderEntry, count: number | undefined, r: EntryReader): Uint8Array {
  expect(entry, HeaderType.BIN, count, r);
  return entry.data;
}

/** An unsigned integer column: value i of the entry, read in place. */
export type UintColumn = (i: number) => number;

/**
 * Unsigned integers of one fixed-size type (INT16, INT32 or INT64), any count, read where they lie
 * instead of copied into an array: a file list of a million entries costs no memory here.
 */
export function readUintColumn(entry: HeaderEntry, type: typeof HeaderType.INT16 | typeof HeaderType.INT32 | typeof HeaderType.INT64, r: EntryReader): UintColumn {
  expect(entry, type, undefined, r);
  const view = new DataView(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
  if (type === HeaderType.INT16) return (i) => view.getUint16(i * 2);
  if (type === HeaderType.INT32) return (i) => view.getUint32(i * 4);
  // every value checked now, so that reading one later cannot fail
  for (let i = 0; i < entry.count; i++) {
    if (view.getUint32(i * 8) > HIGH_WORD_MAX) throw new RpmVerifyError(r.code, `${r.where}: tag ${entry.tag} value ${i} is implausibly large`, r.member);
  }
  return (i) => view.getUint32(i * 8) * 2 ** 32 + view.getUint32(i * 8 + 4);
}

/** The high 32 bits of Number.MAX_SAFE_INTEGER */
const HIGH_WORD_MAX = 2 ** 21 - 1;

/** Byte length and leading "/" of each string of a STRING_ARRAY, found in place (latin1: a byte per character). */
export interface StringShapes {
  readonly lengths: Uint32Array;
  readonly rooted: Uint8Array;
}

export function readStringShapes(entry: HeaderEntry, r: EntryReader): StringShapes {
  expect(entry, HeaderType.STRING_ARRAY, undefined, r);
  const data = entry.data;
  const lengths = new Uint32Array(entry.count);
  const rooted = new Uint8Array(entry.count);
  let start = 0;
  for (let i = 0; i < entry.count; i++) {
    const end = data.indexOf(0, start);
    // the structure check counted the NULs already; this only keeps an index from running off
    if (end < 0) throw new RpmVerifyError(r.code, `${r.where}: tag ${entry.tag} has fewer than ${entry.count} strings`, r.member);
    lengths[i] = end - start;
    rooted[i] = end > start && data[start] === 0x2f ? 1 : 0;
    start = end + 1;
  }
  return { lengths, rooted };
}

/** Whether a STRING_ARRAY holds `text` as one of its strings, searched in place. */
export function stringArrayIncludes(entry: HeaderEntry, text: string, r: EntryReader): boolean {
  expect(entry, HeaderType.STRING_ARRAY, undefined, r);
  const data = Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
  const bounded = Buffer.from(`\0${text}\0`, 'latin1');
  // the first string has no NUL before it
  return data.subarray(0, bounded.length - 1).equals(bounded.subarray(1)) || data.indexOf(bounded) >= 0;
}
