/** Test-only: builds rpm headers by hand so each structural rule can be broken one at a time. */
import { parseHeader, parseHeaderIntro, type HeaderKind } from '../../src/header/structure.ts';

export interface RawEntry {
  tag: number;
  type: number;
  count: number;
  data: Uint8Array;
}

const ALIGN: Record<number, number> = { 3: 2, 4: 4, 5: 8 };

export function str(text: string): RawEntry['data'] {
  return Buffer.from(`${text}\0`, 'latin1');
}

export function u32(...values: number[]): Uint8Array {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v, i * 4));
  return b;
}

export function u64(value: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(value);
  return b;
}

/** Lays entries out canonically, in the order given (callers sort, or not, on purpose). */
export function buildHeader(kind: HeaderKind, entries: readonly RawEntry[]): Uint8Array {
  const regionTag = kind === 'signature' ? 62 : 63;
  const il = entries.length + 1;
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let cursor = 0;
  for (const e of entries) {
    const align = ALIGN[e.type] ?? 1;
    const pad = (align - (cursor % align)) % align;
    if (pad > 0) parts.push(Buffer.alloc(pad));
    cursor += pad;
    offsets.push(cursor);
    parts.push(Buffer.from(e.data));
    cursor += e.data.length;
  }
  const trailer = Buffer.alloc(16);
  trailer.writeUInt32BE(regionTag, 0);
  trailer.writeUInt32BE(7, 4);
  trailer.writeInt32BE(-(il * 16), 8);
  trailer.writeUInt32BE(16, 12);
  parts.push(trailer);
  const store = Buffer.concat(parts);
  const intro = Buffer.alloc(16);
  Buffer.from([0x8e, 0xad, 0xe8, 0x01]).copy(intro);
  intro.writeUInt32BE(il, 8);
  intro.writeUInt32BE(store.length, 12);
  const index = Buffer.alloc(il * 16);
  index.writeUInt32BE(regionTag, 0);
  index.writeUInt32BE(7, 4);
  index.writeUInt32BE(store.length - 16, 8);
  index.writeUInt32BE(16, 12);
  entries.forEach((e, i) => {
    const base = (i + 1) * 16;
    index.writeUInt32BE(e.tag, base);
    index.writeUInt32BE(e.type, base + 4);
    index.writeUInt32BE(offsets[i]!, base + 8);
    index.writeUInt32BE(e.count, base + 12);
  });
  return Buffer.concat([intro, index, store]);
}

/** Index entry i (0 = region) field: 0 tag, 1 type, 2 offset, 3 count. */
export function patchIndex(header: Uint8Array, i: number, field: 0 | 1 | 2 | 3, value: number): Uint8Array {
  const b = Buffer.from(header);
  b.writeUInt32BE(value >>> 0, 16 + i * 16 + field * 4);
  return b;
}

export function storeStart(header: Uint8Array): number {
  return 16 + Buffer.from(header).readUInt32BE(8) * 16;
}

/** Entries of a valid header, read back with the parser under test (inputs only, never verdicts). */
export function readEntries(header: Uint8Array, kind: HeaderKind): RawEntry[] {
  const intro = parseHeaderIntro(header.subarray(0, 16), kind, Number.MAX_SAFE_INTEGER, undefined);
  const parsed = parseHeader(header, intro, kind, undefined);
  return [...parsed.entries.values()].map((e) => ({ tag: e.tag, type: e.type, count: e.count, data: Uint8Array.from(e.data) }));
}
