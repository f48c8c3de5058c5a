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

export function readString(entry: HeaderEntry, r: EntryReader): string {
  expect(entry, HeaderType.STRING, 1, r);
  return Buffer.from(entry.data.subarray(0, entry.data.length - 1)).toString('latin1');
}

export function readStringArray(entry: HeaderEntry, count: number | undefined, r: EntryReader): string[] {
  expect(entry, HeaderType.STRING_ARRAY, count, r);
  const text = Buffer.from(entry.data.subarray(0, entry.data.length - 1)).toString('latin1');
  return text.split('\0');
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

/** Unsigned integers of one fixed-size type (INT16, INT32 or INT64), any count. */
export function readUintArray(entry: HeaderEntry, type: typeof HeaderType.INT16 | typeof HeaderType.INT32 | typeof HeaderType.INT64, r: EntryReader): number[] {
  expect(entry, type, undefined, r);
  const view = new DataView(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
  const out: number[] = [];
  for (let i = 0; i < entry.count; i++) {
    if (type === HeaderType.INT16) out.push(view.getUint16(i * 2));
    else if (type === HeaderType.INT32) out.push(view.getUint32(i * 4));
    else {
      const value = view.getBigUint64(i * 8);
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RpmVerifyError(r.code, `${r.where}: tag ${entry.tag} value ${i} is implausibly large`, r.member);
      out.push(Number(value));
    }
  }
  return out;
}
