import { RpmVerifyError } from '../errors.ts';
import { HeaderType, alignmentOf, elementSize, isHeaderType, type HeaderTypeCode } from './types.ts';

export const HEADER_MAGIC = [0x8e, 0xad, 0xe8, 0x01] as const;
export const HEADER_INTRO_SIZE = 16;
const ENTRY_SIZE = 16;
const REGION_TRAILER_SIZE = 16;
/** rpm's own hard limits (hdrchkTags / hdrchkData); ours via maxHeaderBytes are usually tighter. */
const MAX_INDEX_ENTRIES = 0xffff;
/**
 * rpm refuses a header whose array entry (any type but BIN) has this many values or more: a package
 * with one is one rpm cannot read, so it is never published, even when its signature is good.
 */
const MAX_ARRAY_COUNT = 0x100000;
const MAX_DATA_BYTES = 0x0fffffff;
/** bytes of a string scanned in JavaScript before a native search takes over */
const SHORT_STRING = 32;

export type HeaderKind = 'signature' | 'main';
export const REGION_TAG: Readonly<Record<HeaderKind, number>> = { signature: 62, main: 63 };

export interface HeaderIntro {
  readonly indexCount: number;
  readonly dataLength: number;
  /** intro + index + data store, in bytes */
  readonly totalBytes: number;
}

export interface HeaderEntry {
  readonly tag: number;
  readonly type: HeaderTypeCode;
  readonly count: number;
  /** exactly this entry's bytes inside the data store (a view, not a copy) */
  readonly data: Uint8Array;
}

/**
 * An entry whose bytes are viewed only when asked for: a view per entry, kept for all 65,535 of a
 * hostile header, cost more memory than its data.
 */
class StoredEntry implements HeaderEntry {
  constructor(
    readonly store: Uint8Array,
    readonly tag: number,
    readonly type: HeaderTypeCode,
    readonly count: number,
    readonly offset: number,
    readonly length: number,
  ) {}

  get data(): Uint8Array {
    return this.store.subarray(this.offset, this.offset + this.length);
  }
}

export interface ParsedHeader {
  readonly kind: HeaderKind;
  /** the whole header as in the file: intro, index and data store */
  readonly bytes: Uint8Array;
  /** every entry except the region tag, keyed by tag */
  readonly entries: ReadonlyMap<number, HeaderEntry>;
}

function where(kind: HeaderKind): string {
  return kind === 'signature' ? 'signature header' : 'main header';
}

/**
 * Reads the 16-byte intro and checks the counts against hard limits and `budget` before anything
 * is allocated or multiplied.
 */
export function parseHeaderIntro(intro: Uint8Array, kind: HeaderKind, budget: number, member: string | undefined): HeaderIntro {
  if (!HEADER_MAGIC.every((b, i) => intro[i] === b)) {
    throw new RpmVerifyError('RPM_HEADER_MAGIC', `${where(kind)}: bad magic`, member);
  }
  if (intro[4] !== 0 || intro[5] !== 0 || intro[6] !== 0 || intro[7] !== 0) {
    throw new RpmVerifyError('RPM_HEADER_MAGIC', `${where(kind)}: reserved bytes are not zero`, member);
  }
  const view = new DataView(intro.buffer, intro.byteOffset, intro.byteLength);
  const indexCount = view.getUint32(8);
  const dataLength = view.getUint32(12);
  if (indexCount < 1 || indexCount > MAX_INDEX_ENTRIES) {
    throw new RpmVerifyError('RPM_HEADER_BOUNDS', `${where(kind)}: index count ${indexCount} out of range`, member);
  }
  if (dataLength < REGION_TRAILER_SIZE || dataLength > MAX_DATA_BYTES) {
    throw new RpmVerifyError('RPM_HEADER_BOUNDS', `${where(kind)}: data length ${dataLength} out of range`, member);
  }
  const totalBytes = HEADER_INTRO_SIZE + indexCount * ENTRY_SIZE + dataLength;
  if (totalBytes > budget) {
    throw new RpmVerifyError(
      'RPM_TOO_LARGE',
      `${where(kind)}: ${totalBytes} bytes exceeds the remaining header budget of ${budget} bytes`,
      member,
    );
  }
  return { indexCount, dataLength, totalBytes };
}

/** Highest tag rpm takes: it stores tags as int32. */
const MAX_TAG = 0x7fffffff;

/**
 * Parses a complete header and accepts only the canonical layout rpm writes: the region tag first
 * with its trailer as the last 16 bytes of the store and covering every entry (no dribble), all
 * other entries sorted by tag and unique, their data laid out in the same order, each at the next
 * offset aligned for its type, zero padding only, no bytes left over. With one layout allowed there
 * is no room for two readers (rpm's checker and loader) to see different values.
 */
export function parseHeader(bytes: Uint8Array, intro: HeaderIntro, kind: HeaderKind, member: string | undefined): ParsedHeader {
  const w = where(kind);
  if (bytes.length !== intro.totalBytes) {
    throw new RpmVerifyError('RPM_HEADER_BOUNDS', `${w}: expected ${intro.totalBytes} bytes, got ${bytes.length}`, member);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storeStart = HEADER_INTRO_SIZE + intro.indexCount * ENTRY_SIZE;
  const store = bytes.subarray(storeStart);
  const dl = intro.dataLength;
  const regionTag = REGION_TAG[kind];
  const trailerOffset = dl - REGION_TRAILER_SIZE;

  const entryAt = (i: number): { tag: number; type: number; offset: number; count: number } => {
    const base = HEADER_INTRO_SIZE + i * ENTRY_SIZE;
    return {
      tag: view.getUint32(base),
      type: view.getUint32(base + 4),
      offset: view.getUint32(base + 8),
      count: view.getUint32(base + 12),
    };
  };

  const region = entryAt(0);
  if (region.tag !== regionTag) {
    throw new RpmVerifyError('RPM_REGION_BAD', `${w}: first tag is ${region.tag}, not the region tag ${regionTag}`, member);
  }
  if (region.type !== HeaderType.BIN || region.count !== REGION_TRAILER_SIZE || region.offset !== trailerOffset) {
    throw new RpmVerifyError('RPM_REGION_BAD', `${w}: region entry is not BIN/16 pointing at the end of the store`, member);
  }
  const trailer = new DataView(store.buffer, store.byteOffset + trailerOffset, REGION_TRAILER_SIZE);
  const trailerProblem =
    trailer.getUint32(0) !== regionTag
      ? `its tag is ${trailer.getUint32(0)}, not ${regionTag}`
      : trailer.getUint32(4) !== HeaderType.BIN
        ? `its type is ${trailer.getUint32(4)}, not BIN (7)`
        : trailer.getInt32(8) !== -(intro.indexCount * ENTRY_SIZE)
          ? `it covers ${-trailer.getInt32(8)} bytes of index, not the ${intro.indexCount} entries (${intro.indexCount * ENTRY_SIZE} bytes)`
          : trailer.getUint32(12) !== REGION_TRAILER_SIZE
            ? `its count is ${trailer.getUint32(12)}, not ${REGION_TRAILER_SIZE}`
            : undefined;
  if (trailerProblem !== undefined) {
    throw new RpmVerifyError('RPM_REGION_BAD', `${w}: region trailer is wrong: ${trailerProblem}`, member);
  }

  // tag order over the whole index first: two swapped entries are named as out of order, not as
  // the data offset that the first of them then no longer matches
  for (let i = 1, previousTag = regionTag; i < intro.indexCount; i++) {
    const { tag } = entryAt(i);
    // rpm reads tags as signed 32-bit numbers and refuses negative ones: such a package would be
    // published, yet rpm could not read it (and createrepo_c would silently leave it out)
    if (tag > MAX_TAG) {
      throw new RpmVerifyError('RPM_HEADER_NOT_CANONICAL', `${w}: tag ${tag} is above ${MAX_TAG}, negative to rpm`, member);
    }
    if (tag <= previousTag) {
      const why = tag === previousTag ? 'duplicated' : 'out of order';
      throw new RpmVerifyError('RPM_HEADER_NOT_CANONICAL', `${w}: tag ${tag} is ${why}`, member);
    }
    previousTag = tag;
  }
  const entries = new Map<number, HeaderEntry>();
  let cursor = 0;
  for (let i = 1; i < intro.indexCount; i++) {
    const raw = entryAt(i);
    if (!isHeaderType(raw.type)) {
      throw new RpmVerifyError('RPM_HEADER_TYPE_BAD', `${w}: tag ${raw.tag} has unknown type ${raw.type}`, member);
    }
    if (raw.count < 1) {
      throw new RpmVerifyError('RPM_HEADER_TYPE_BAD', `${w}: tag ${raw.tag} has count 0`, member);
    }
    if (raw.type !== HeaderType.BIN && raw.count >= MAX_ARRAY_COUNT) {
      throw new RpmVerifyError('RPM_HEADER_BOUNDS', `${w}: tag ${raw.tag} has ${raw.count} values; rpm reads at most ${MAX_ARRAY_COUNT - 1}`, member);
    }
    // outside the store is a bounds fault whatever else is wrong with it (rpm reads the offset as
    // signed, so one of 2^31 or more is negative to it)
    if (raw.offset > trailerOffset) {
      throw new RpmVerifyError('RPM_HEADER_BOUNDS', `${w}: tag ${raw.tag} data at offset ${raw.offset} is outside the ${trailerOffset} bytes of the store`, member);
    }
    const align = alignmentOf(raw.type);
    const expected = Math.ceil(cursor / align) * align;
    if (raw.offset !== expected) {
      throw new RpmVerifyError(
        'RPM_HEADER_NOT_CANONICAL',
        `${w}: tag ${raw.tag} data at offset ${raw.offset}, expected ${expected} (misaligned, overlapping or with a gap)`,
        member,
      );
    }
    for (let p = cursor; p < expected; p++) {
      if (store[p] !== 0) throw new RpmVerifyError('RPM_HEADER_NOT_CANONICAL', `${w}: non-zero alignment padding before tag ${raw.tag}`, member);
    }
    // the next entry's data bounds this one's: a string or array running into it is blamed here
    const next = i + 1 < intro.indexCount ? entryAt(i + 1) : undefined;
    const bound = next !== undefined && next.offset > raw.offset && next.offset < trailerOffset ? { offset: next.offset, tag: next.tag } : undefined;
    const length = dataLength(store, raw.offset, trailerOffset, bound, raw.type, raw.count, raw.tag, w, member);
    entries.set(raw.tag, new StoredEntry(store, raw.tag, raw.type, raw.count, raw.offset, length));
    cursor = raw.offset + length;
  }
  if (cursor !== trailerOffset) {
    throw new RpmVerifyError('RPM_HEADER_NOT_CANONICAL', `${w}: ${trailerOffset - cursor} unused bytes in the data store`, member);
  }
  return { kind, bytes, entries };
}

function dataLength(
  store: Uint8Array,
  offset: number,
  end: number,
  next: { readonly offset: number; readonly tag: number } | undefined,
  type: HeaderTypeCode,
  count: number,
  tag: number,
  w: string,
  member: string | undefined,
): number {
  const available = end - offset;
  const limit = next?.offset ?? end;
  const size = elementSize(type);
  if (size > 0) {
    // count <= available / size keeps the multiplication in range
    if (count > Math.floor(available / size)) {
      throw new RpmVerifyError('RPM_HEADER_BOUNDS', `${w}: tag ${tag} count ${count} does not fit in the store`, member);
    }
    if (next !== undefined && offset + count * size > limit) {
      throw new RpmVerifyError('RPM_HEADER_NOT_CANONICAL', `${w}: tag ${tag}'s ${count} values run into tag ${next.tag}'s data at offset ${next.offset}`, member);
    }
    return count * size;
  }
  if (type === HeaderType.STRING && count !== 1) {
    throw new RpmVerifyError('RPM_HEADER_TYPE_BAD', `${w}: tag ${tag} is a STRING with count ${count}`, member);
  }
  if (count > available) {
    throw new RpmVerifyError('RPM_HEADER_BOUNDS', `${w}: tag ${tag} count ${count} does not fit in the store`, member);
  }
  let p = offset;
  for (let n = 0; n < count; n++) {
    // short strings looked at here: a native indexOf per string cost a second for 32M empty ones
    let nul = p;
    const near = Math.min(p + SHORT_STRING, limit);
    while (nul < near && store[nul] !== 0) nul++;
    if (nul === near) nul = store.indexOf(0, nul);
    if (nul < 0 || nul >= limit) {
      const where = next === undefined ? 'inside the store' : `before tag ${next.tag}'s data at offset ${next.offset}`;
      throw new RpmVerifyError('RPM_HEADER_BOUNDS', `${w}: tag ${tag} string ${n} is not NUL-terminated ${where}`, member);
    }
    p = nul + 1;
  }
  return p - offset;
}
