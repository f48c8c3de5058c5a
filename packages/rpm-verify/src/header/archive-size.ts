import { endianness } from 'node:os';
import { RpmVerifyError } from '../errors.ts';
import type { HeaderEntry, ParsedHeader } from './structure.ts';
import { HeaderType } from './types.ts';
import { readStringShapes, readUintColumn, stringArrayIncludes, type EntryReader, type StringShapes, type UintColumn } from './values.ts';

/**
 * The byte size of the uncompressed cpio payload, as rpm's archive writer lays it out, worked out
 * from the signed main header alone. The signature header's PAYLOADSIZE (1007) or LONGARCHIVESIZE
 * (271) is covered by no digest and no signature; holding it to this value leaves no byte of an
 * accepted package that could differ from what was signed.
 *
 * The layout (rpm 4.x `lib/cpio.c`, `lib/rpmfi.c`, unchanged in rpm 6 for v4 packages): every file
 * that is not a %ghost gets one entry, a header and its data, each padded to 4 bytes. The header is
 * the 110-byte "newc" header plus the NUL-terminated path, or the 14-byte "stripped" header when
 * the package uses LONGFILESIZES. Only regular files and symlinks carry data (a symlink carries its
 * target). A set of hard links carries its data once. The archive ends with a 124-byte trailer.
 *
 * Whether paths start with "." is a build macro (%_noPayloadPrefix) that leaves one trace: with the
 * prefix, rpmbuild adds `rpmlib(PayloadFilesHavePrefix)` to the requirements. That requirement is
 * taken to mean the prefix. A spec that states it itself while building without the prefix gets a
 * package this rejects; allowing both sizes instead would leave PAYLOADSIZE two values to choose
 * from in every normal package.
 *
 * Called only once the header's signature has verified: unsigned bytes never reach this walk, and a
 * tampered header fails as tampered. A signed list it cannot follow is RPM_FILE_LIST_BAD.
 */

const Tag = {
  OLDFILENAMES: 1027,
  FILESIZES: 1028,
  FILEMODES: 1030,
  FILEFLAGS: 1037,
  REQUIRENAME: 1049,
  FILEDEVICES: 1095,
  FILEINODES: 1096,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  LONGFILESIZES: 5008,
} as const;

const RPMFILE_GHOST = 1 << 6;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const NEWC_HEADER = 110;
const STRIPPED_HEADER = 6 + 8;
/** "070701", 104 bytes of header fields and "TRAILER!!!\0", padded to 4 */
const TRAILER = 124;
/** rpmbuild requires this feature unless %_noPayloadPrefix was set, which leaves out the "." before each path */
const PREFIX_FEATURE = 'rpmlib(PayloadFilesHavePrefix)';

const align4 = (n: number): number => n + ((4 - (n % 4)) % 4);

export function archiveSizeOf(header: ParsedHeader, member: string | undefined): number {
  const fail = (reason: string) => new RpmVerifyError('RPM_FILE_LIST_BAD', `main header: ${reason}; the unsigned payload size cannot be checked`, member);
  const r: EntryReader = { code: 'RPM_FILE_LIST_BAD', where: 'main header file list', member };
  const get = (tag: number) => header.entries.get(tag);

  // rpmbuild --nodirtokens still writes the old, uncompressed file list; the archive is the same
  const basenamesEntry = get(Tag.BASENAMES);
  const oldNamesEntry = get(Tag.OLDFILENAMES);
  if (basenamesEntry !== undefined && oldNamesEntry !== undefined) throw fail('both BASENAMES (1117) and OLDFILENAMES (1027) are present');
  const namesEntry = basenamesEntry ?? oldNamesEntry;
  const fileTags = [Tag.FILESIZES, Tag.LONGFILESIZES, Tag.FILEMODES, Tag.FILEFLAGS, Tag.DIRINDEXES, Tag.DIRNAMES, Tag.FILEINODES, Tag.FILEDEVICES];
  if (namesEntry === undefined) {
    const stray = fileTags.filter((t) => get(t) !== undefined);
    if (stray.length > 0) throw fail(`tags ${stray.join(', ')} describe files but there is no BASENAMES (1117)`);
    return TRAILER;
  }
  // Lengths and columns read in place, never arrays of strings or numbers: a signed list of a
  // million files would otherwise cost hundreds of MiB here.
  const names = readStringShapes(namesEntry, r);
  const count = names.lengths.length;
  const ints = (tag: number, type: typeof HeaderType.INT16 | typeof HeaderType.INT32 | typeof HeaderType.INT64, required: boolean): UintColumn | undefined => {
    const entry = get(tag);
    if (entry === undefined) {
      if (required) throw fail(`tag ${tag} is missing`);
      return undefined;
    }
    const column = readUintColumn(entry, type, r);
    if (entry.count !== count) throw fail(`tag ${tag} has ${entry.count} values for ${count} files`);
    return column;
  };

  const shortSizes = ints(Tag.FILESIZES, HeaderType.INT32, false);
  const longSizes = ints(Tag.LONGFILESIZES, HeaderType.INT64, false);
  if ((shortSizes === undefined) === (longSizes === undefined)) throw fail('needs exactly one of FILESIZES (1028) and LONGFILESIZES (5008)');
  const sizes = (shortSizes ?? longSizes) as UintColumn;
  // rpm switches to the stripped archive format exactly when the package has LONGFILESIZES
  const stripped = longSizes !== undefined;
  const modes = ints(Tag.FILEMODES, HeaderType.INT16, true) as UintColumn;
  const flags = ints(Tag.FILEFLAGS, HeaderType.INT32, true) as UintColumn;
  const path = basenamesEntry === undefined ? ownPaths(names) : joinedPaths(names, ints, get(Tag.DIRNAMES), r, fail);
  // rpm groups hard links only when it has both arrays (rpmfilesBuildNLink)
  const inodes = ints(Tag.FILEINODES, HeaderType.INT32, false);
  const devices = ints(Tag.FILEDEVICES, HeaderType.INT32, false);
  const requires = get(Tag.REQUIRENAME);
  const prefix = requires !== undefined && stringArrayIncludes(requires, PREFIX_FEATURE, r);

  let total = 0;
  /** regular files that may share their data with others: counted once per (device, inode) below */
  const linked = new Uint32Array(count);
  let linkedCount = 0;
  for (let i = 0; i < count; i++) {
    if ((flags(i) & RPMFILE_GHOST) !== 0) continue;
    total += stripped ? align4(STRIPPED_HEADER) : align4(NEWC_HEADER + (prefix && path.rooted(i) ? 1 : 0) + path.bytes(i) + 1);
    const type = modes(i) & S_IFMT;
    if (inodes !== undefined && devices !== undefined && type === S_IFREG && inodes(i) > 0) linked[linkedCount++] = i;
    else if (type === S_IFREG || type === S_IFLNK) total += align4(sizes(i));
  }
  total += linkSetBytes(linked.subarray(0, linkedCount), inodes, devices, sizes);
  total += TRAILER;
  if (!Number.isSafeInteger(total)) throw fail('the archive size is implausibly large');
  return total;
}

/** Which 32-bit half of a BigUint64Array element is the high word on this machine. */
const HIGH = endianness() === 'LE' ? 1 : 0;
const LOW = 1 - HIGH;

/**
 * The data of each hard-link set, once, with the size of its last file in header order (rpm writes
 * a set's data with its last member). Sets are found by sorting one 64-bit (device, inode) key per
 * file natively: a sort with a comparator, or a Map of string keys, cost tens of MiB for a million
 * files. The files are then walked backwards, so a set's first file seen is its last.
 */
function linkSetBytes(files: Uint32Array, inodes: UintColumn | undefined, devices: UintColumn | undefined, sizes: UintColumn): number {
  if (inodes === undefined || devices === undefined || files.length === 0) return 0;
  const keys = new BigUint64Array(files.length);
  const words = new Uint32Array(keys.buffer);
  for (let k = 0; k < files.length; k++) {
    const i = files[k] as number;
    words[2 * k + HIGH] = devices(i);
    words[2 * k + LOW] = inodes(i);
  }
  keys.sort();
  let sets = 0;
  for (let k = 0; k < files.length; k++) {
    const high = words[2 * k + HIGH] as number;
    const low = words[2 * k + LOW] as number;
    if (sets > 0 && words[2 * (sets - 1) + HIGH] === high && words[2 * (sets - 1) + LOW] === low) continue;
    words[2 * sets + HIGH] = high;
    words[2 * sets + LOW] = low;
    sets += 1;
  }
  const counted = new Uint8Array(sets);
  let total = 0;
  for (let k = files.length - 1; k >= 0; k--) {
    const i = files[k] as number;
    const set = findSet(words, sets, devices(i), inodes(i));
    if (counted[set] === 1) continue;
    counted[set] = 1;
    total += align4(sizes(i));
  }
  return total;
}

/** The index of (high, low) among the first `sets` sorted, unique keys; it is always there. */
function findSet(words: Uint32Array, sets: number, high: number, low: number): number {
  let from = 0;
  let to = sets - 1;
  while (from < to) {
    const mid = (from + to) >>> 1;
    const h = words[2 * mid + HIGH] as number;
    const l = words[2 * mid + LOW] as number;
    if (h < high || (h === high && l < low)) from = mid + 1;
    else to = mid;
  }
  return from;
}

/**
 * What the archive needs of each path: its length and whether it starts with "/". Lengths only,
 * never the joined strings: a hostile list of many files under one huge directory name would
 * otherwise cost the length of that name once per file.
 */
interface PathShapes {
  bytes(i: number): number;
  rooted(i: number): boolean;
}

function ownPaths(names: StringShapes): PathShapes {
  return { bytes: (i) => names.lengths[i] ?? 0, rooted: (i) => names.rooted[i] === 1 };
}

/** dirname + basename of each file, from the compressed file list. */
function joinedPaths(
  basenames: StringShapes,
  ints: (tag: number, type: typeof HeaderType.INT32, required: boolean) => UintColumn | undefined,
  dirnamesEntry: HeaderEntry | undefined,
  r: EntryReader,
  fail: (reason: string) => RpmVerifyError,
): PathShapes {
  const dirIndexes = ints(Tag.DIRINDEXES, HeaderType.INT32, true) as UintColumn;
  if (dirnamesEntry === undefined) throw fail('DIRNAMES (1118) is missing');
  const dirs = readStringShapes(dirnamesEntry, r);
  // every index checked before the walk, as the joined list used to be built whole first
  for (let i = 0; i < basenames.lengths.length; i++) {
    if (dirIndexes(i) >= dirs.lengths.length) throw fail(`file ${i} points at directory ${dirIndexes(i)} of ${dirs.lengths.length}`);
  }
  return {
    bytes: (i) => (dirs.lengths[dirIndexes(i)] ?? 0) + (basenames.lengths[i] ?? 0),
    rooted: (i) => dirs.rooted[dirIndexes(i)] === 1,
  };
}
