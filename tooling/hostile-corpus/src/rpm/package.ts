import { concatBytes } from '../tar/bytes.ts';

/** RPM v4 file layout: lead (96), signature header, zero padding to 8, main header, payload. */

export const LEAD_SIZE = 96;
export const HEADER_MAGIC = Uint8Array.of(0x8e, 0xad, 0xe8, 0x01);

export const TYPE = { NULL: 0, CHAR: 1, INT8: 2, INT16: 3, INT32: 4, INT64: 5, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

export interface IndexEntry {
  tag: number;
  type: number;
  /** Signed, as stored (the region trailer holds a negative offset). */
  offset: number;
  count: number;
}

/** One header as found in the file: its index entries and data store, and where it sits. */
export interface RawHeader {
  /** Offset of the magic in the file. */
  start: number;
  /** Offset just past the data store. */
  end: number;
  il: number;
  dl: number;
  entries: IndexEntry[];
  data: Uint8Array;
}

export interface RpmParts {
  lead: Uint8Array;
  sig: RawHeader;
  /** Zero bytes between the signature header and the main header. */
  sigPadding: Uint8Array;
  main: RawHeader;
  payload: Uint8Array;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a header at `start` of a known-good package (a test's own input: trusting it is fine). */
export function readHeader(bytes: Uint8Array, start: number): RawHeader {
  const v = view(bytes);
  for (let i = 0; i < 4; i += 1) {
    if (bytes[start + i] !== HEADER_MAGIC[i]) throw new Error(`no header magic at ${start}`);
  }
  const il = v.getUint32(start + 8);
  const dl = v.getUint32(start + 12);
  const entries: IndexEntry[] = [];
  for (let i = 0; i < il; i += 1) {
    const at = start + 16 + i * 16;
    entries.push({ tag: v.getUint32(at), type: v.getUint32(at + 4), offset: v.getInt32(at + 8), count: v.getUint32(at + 12) });
  }
  const dataStart = start + 16 + il * 16;
  return { start, end: dataStart + dl, il, dl, entries, data: bytes.slice(dataStart, dataStart + dl) };
}

export function sigPaddingLength(sigEnd: number): number {
  return (8 - (sigEnd % 8)) % 8;
}

/** Splits a well-formed package into its parts. */
export function splitRpm(bytes: Uint8Array): RpmParts {
  const sig = readHeader(bytes, LEAD_SIZE);
  const pad = sigPaddingLength(sig.end);
  const main = readHeader(bytes, sig.end + pad);
  return {
    lead: bytes.slice(0, LEAD_SIZE),
    sig,
    sigPadding: bytes.slice(sig.end, sig.end + pad),
    main,
    payload: bytes.slice(main.end),
  };
}

export interface HeaderBlobFields {
  entries: readonly IndexEntry[];
  data: Uint8Array;
  /** Defaults to entries.length / data.length: set them to lie. */
  il?: number;
  dl?: number;
  magic?: Uint8Array;
  reserved?: Uint8Array;
}

/** Serialises a header exactly as given (no sorting, no checks): magic, reserved, il, dl, index, data. */
export function headerBlob(fields: HeaderBlobFields): Uint8Array {
  const out = new Uint8Array(16 + fields.entries.length * 16 + fields.data.length);
  const v = view(out);
  out.set(fields.magic ?? HEADER_MAGIC, 0);
  out.set(fields.reserved ?? new Uint8Array(4), 4);
  v.setUint32(8, fields.il ?? fields.entries.length);
  v.setUint32(12, fields.dl ?? fields.data.length);
  fields.entries.forEach((e, i) => {
    const at = 16 + i * 16;
    v.setUint32(at, e.tag);
    v.setUint32(at + 4, e.type);
    v.setInt32(at + 8, e.offset);
    v.setUint32(at + 12, e.count);
  });
  out.set(fields.data, 16 + fields.entries.length * 16);
  return out;
}

export function rawHeaderBlob(h: RawHeader): Uint8Array {
  return headerBlob({ entries: h.entries, data: h.data });
}

/** Reassembles a package; the signature padding is recomputed unless given. */
export function joinRpm(parts: { lead: Uint8Array; sig: Uint8Array; sigPadding?: Uint8Array; main: Uint8Array; payload: Uint8Array }): Uint8Array {
  const pad = parts.sigPadding ?? new Uint8Array(sigPaddingLength(LEAD_SIZE + parts.sig.length));
  return concatBytes([parts.lead, parts.sig, pad, parts.main, parts.payload]);
}

/** A tag's value bytes, for re-laying a header: the extent its type and count imply. */
export interface Item {
  tag: number;
  type: number;
  count: number;
  value: Uint8Array;
}

function valueLength(data: Uint8Array, e: IndexEntry): number {
  switch (e.type) {
    case TYPE.STRING:
    case TYPE.STRING_ARRAY:
    case TYPE.I18NSTRING: {
      const n = e.type === TYPE.STRING ? 1 : e.count;
      let at = e.offset;
      for (let i = 0; i < n; i += 1) {
        const nul = data.indexOf(0, at);
        if (nul < 0) throw new Error(`unterminated string in tag ${e.tag}`);
        at = nul + 1;
      }
      return at - e.offset;
    }
    case TYPE.INT16:
      return 2 * e.count;
    case TYPE.INT32:
      return 4 * e.count;
    case TYPE.INT64:
      return 8 * e.count;
    default:
      return e.count;
  }
}

/** The header's tags and values, without the region tag (62 or 63). */
export function itemsOf(h: RawHeader): Item[] {
  return h.entries
    .filter((e) => e.tag !== 62 && e.tag !== 63)
    .map((e) => ({ tag: e.tag, type: e.type, count: e.count, value: h.data.slice(e.offset, e.offset + valueLength(h.data, e)) }));
}

function alignment(type: number): number {
  if (type === TYPE.INT16) return 2;
  if (type === TYPE.INT32) return 4;
  if (type === TYPE.INT64) return 8;
  return 1;
}

/**
 * Lays out a header the way rpm does: region tag first, then tags in ascending order, data in
 * that order each aligned for its type, the region trailer last. Items are taken in the order
 * given (pass them unsorted to build an unsorted header).
 */
export function layoutHeader(regionTag: 62 | 63, items: readonly Item[]): Uint8Array {
  const il = items.length + 1;
  const parts: Uint8Array[] = [];
  const entries: IndexEntry[] = [];
  let offset = 0;
  for (const item of items) {
    const pad = (alignment(item.type) - (offset % alignment(item.type))) % alignment(item.type);
    if (pad > 0) parts.push(new Uint8Array(pad));
    offset += pad;
    entries.push({ tag: item.tag, type: item.type, offset, count: item.count });
    parts.push(item.value);
    offset += item.value.length;
  }
  const trailer = headerBlob({ entries: [{ tag: regionTag, type: TYPE.BIN, offset: -(il * 16), count: 16 }], data: new Uint8Array(0) }).subarray(16, 32);
  parts.push(trailer);
  return headerBlob({ entries: [{ tag: regionTag, type: TYPE.BIN, offset, count: 16 }, ...entries], data: concatBytes(parts) });
}

export function sortItems(items: readonly Item[]): Item[] {
  return [...items].sort((a, b) => a.tag - b.tag);
}

export function cString(text: string): Uint8Array {
  return concatBytes([new TextEncoder().encode(text), new Uint8Array(1)]);
}

export function int32s(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  values.forEach((v, i) => view(out).setUint32(i * 4, v));
  return out;
}
