import { RpmVerifyError } from '../errors.ts';
import type { HeaderEntry, ParsedHeader } from './structure.ts';
import { HeaderType } from './types.ts';
import { readStringArray, readUintArray, type EntryReader } from './values.ts';

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
  const names = readStringArray(namesEntry, undefined, r);
  const count = names.length;
  const ints = (tag: number, type: typeof HeaderType.INT16 | typeof HeaderType.INT32 | typeof HeaderType.INT64, required: boolean): number[] | undefined => {
    const entry = get(tag);
    if (entry === undefined) {
      if (required) throw fail(`tag ${tag} is missing`);
      return undefined;
    }
    const values = readUintArray(entry, type, r);
    if (values.length !== count) throw fail(`tag ${tag} has ${values.length} values for ${count} files`);
    return values;
  };

  const shortSizes = ints(Tag.FILESIZES, HeaderType.INT32, false);
  const longSizes = ints(Tag.LONGFILESIZES, HeaderType.INT64, false);
  if ((shortSizes === undefined) === (longSizes === undefined)) throw fail('needs exactly one of FILESIZES (1028) and LONGFILESIZES (5008)');
  const sizes = (shortSizes ?? longSizes) as number[];
  // rpm switches to the stripped archive format exactly when the package has LONGFILESIZES
  const stripped = longSizes !== undefined;
  const modes = ints(Tag.FILEMODES, HeaderType.INT16, true) as number[];
  const flags = ints(Tag.FILEFLAGS, HeaderType.INT32, true) as number[];
  const paths = basenamesEntry === undefined ? names.map(pathShape) : joinedShapes(names, ints, get(Tag.DIRNAMES), r, fail);
  // rpm groups hard links only when it has both arrays (rpmfilesBuildNLink)
  const inodes = ints(Tag.FILEINODES, HeaderType.INT32, false);
  const devices = ints(Tag.FILEDEVICES, HeaderType.INT32, false);
  const linkable = inodes !== undefined && devices !== undefined;
  const requires = get(Tag.REQUIRENAME);
  const prefix = requires !== undefined && readStringArray(requires, undefined, r).includes(PREFIX_FEATURE);

  let total = 0;
  /** data size of each hard-link set, counted once */
  const linkSets = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    if (((flags[i] ?? 0) & RPMFILE_GHOST) !== 0) continue;
    const path = paths[i] ?? { bytes: 0, rooted: false };
    total += stripped ? align4(STRIPPED_HEADER) : align4(NEWC_HEADER + (prefix && path.rooted ? 1 : 0) + path.bytes + 1);
    const type = (modes[i] ?? 0) & S_IFMT;
    const size = type === S_IFREG || type === S_IFLNK ? (sizes[i] ?? 0) : 0;
    const inode = inodes?.[i] ?? 0;
    if (linkable && type === S_IFREG && inode > 0) {
      linkSets.set(`${devices[i] ?? 0}:${inode}`, size);
    } else {
      total += align4(size);
    }
  }
  for (const size of linkSets.values()) total += align4(size);
  total += TRAILER;
  if (!Number.isSafeInteger(total)) throw fail('the archive size is implausibly large');
  return total;
}

/**
 * What the archive needs of a path: its length and whether it starts with "/". Lengths only, never
 * the joined strings: a hostile list of many files under one huge directory name would otherwise
 * cost the length of that name once per file. Strings are latin1: one character per byte.
 */
interface PathShape {
  readonly bytes: number;
  readonly rooted: boolean;
}

function pathShape(path: string): PathShape {
  return { bytes: path.length, rooted: path.startsWith('/') };
}

/** The shape of dirname + basename of each file, from the compressed file list. */
function joinedShapes(
  basenames: readonly string[],
  ints: (tag: number, type: typeof HeaderType.INT32, required: boolean) => number[] | undefined,
  dirnamesEntry: HeaderEntry | undefined,
  r: EntryReader,
  fail: (reason: string) => RpmVerifyError,
): PathShape[] {
  const dirIndexes = ints(Tag.DIRINDEXES, HeaderType.INT32, true) as number[];
  if (dirnamesEntry === undefined) throw fail('DIRNAMES (1118) is missing');
  const dirs = readStringArray(dirnamesEntry, undefined, r).map(pathShape);
  return basenames.map((name, i) => {
    const dir = dirs[dirIndexes[i] ?? -1];
    if (dir === undefined) throw fail(`file ${i} points at directory ${dirIndexes[i] ?? -1} of ${dirs.length}`);
    return { bytes: dir.bytes + name.length, rooted: dir.rooted };
  });
}
