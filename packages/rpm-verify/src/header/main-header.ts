import { RpmVerifyError } from '../errors.ts';
import type { ParsedHeader } from './structure.ts';
import { expectedTagType, tagTypeAccepted } from './tag-types.ts';
import { HeaderType } from './types.ts';
import { readString, readStringArray, readUint32, type EntryReader } from './values.ts';

export interface Nevra {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
}

export interface MainHeader {
  readonly nevra: Nevra;
  /** lowercase hex SHA-256 of the payload as stored in the file */
  readonly payloadDigest: string;
  /** what rpm writes into the lead's name field (before it is cut to fit) */
  readonly leadName: string;
  /** SIZE (1009), the installed size, when present as one INT32; null otherwise (rpm then reads 0) */
  readonly installedSize: number | null;
}

const Tag = {
  I18NTABLE: 100,
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SIZE: 1009,
  ARCH: 1022,
  SOURCERPM: 1044,
  PAYLOADFORMAT: 1124,
  PAYLOADCOMPRESSOR: 1125,
  PAYLOADDIGEST: 5092,
  PAYLOADDIGESTALGO: 5093,
} as const;
const PGPHASHALGO_SHA256 = 8;

/** 256..999 is where rpm keeps signature tags when it copies them into a header (RPMTAG_SIG_BASE). */
const SIG_TAG_RANGE = { from: 256, to: 999 } as const;
/** Header tags below 1000 that a package's main header may carry (region, i18n table). */
const LOW_TAGS_ALLOWED = new Set<number>([Tag.I18NTABLE]);

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,255}$/;
const VERSION_RE = /^[A-Za-z0-9._+~^]{1,255}$/;
const ARCH_RE = /^[A-Za-z0-9_]{1,64}$/;
/** the longest values the patterns above allow, checked before a value is decoded */
const NAME_MAX = 256;
const VERSION_MAX = 255;
const ARCH_MAX = 64;
/** longer than every PAYLOADFORMAT and PAYLOADCOMPRESSOR allowed */
const PAYLOAD_WORD_MAX = 16;
const EPOCH_MAX = 0x7fffffff;
/** What rpm 4.18 can unpack; anything else could only fail at install time, or reach odd code. */
const PAYLOAD_FORMATS = new Set(['cpio']);
const PAYLOAD_COMPRESSORS = new Set(['gzip', 'bzip2', 'xz', 'lzma', 'zstd']);

export function parseMainHeader(header: ParsedHeader, member: string | undefined): MainHeader {
  for (const tag of header.entries.keys()) {
    if (tag === 62 || (tag >= SIG_TAG_RANGE.from && tag <= SIG_TAG_RANGE.to)) {
      throw new RpmVerifyError('RPM_SIG_IN_MAIN_HEADER', `main header: signature tag ${tag} is not allowed in the main header`, member);
    }
    if (tag < 1000 && !LOW_TAGS_ALLOWED.has(tag)) {
      throw new RpmVerifyError('RPM_MAIN_TAG_NOT_ALLOWED', `main header: tag ${tag} is not allowed`, member);
    }
  }
  const r: EntryReader = { code: 'RPM_NEVRA_BAD', where: 'main header', member };
  const required = (tag: number, what: string) => {
    const e = header.entries.get(tag);
    if (e === undefined) throw new RpmVerifyError('RPM_NEVRA_BAD', `main header: ${what} (${tag}) is missing`, member);
    return e;
  };
  const text = (tag: number, what: string, re: RegExp, maxBytes: number): string => {
    const value = readString(required(tag, what), maxBytes, r);
    if (!re.test(value)) throw new RpmVerifyError('RPM_NEVRA_BAD', `main header: ${what} "${value}" has characters outside the allowed set`, member);
    return value;
  };
  const name = text(Tag.NAME, 'NAME', NAME_RE, NAME_MAX);
  const version = text(Tag.VERSION, 'VERSION', VERSION_RE, VERSION_MAX);
  const release = text(Tag.RELEASE, 'RELEASE', VERSION_RE, VERSION_MAX);
  const arch = text(Tag.ARCH, 'ARCH', ARCH_RE, ARCH_MAX);
  const epochEntry = header.entries.get(Tag.EPOCH);
  const epoch = epochEntry === undefined ? 0 : readUint32(epochEntry, r);
  if (epoch > EPOCH_MAX) throw new RpmVerifyError('RPM_NEVRA_BAD', `main header: EPOCH ${epoch} (as a signed number ${epoch - 0x1_0000_0000}) is out of range 0 to ${EPOCH_MAX}`, member);

  // rpm tells binary from source packages by SOURCERPM alone; the lead's type is unsigned
  if (!header.entries.has(Tag.SOURCERPM)) {
    throw new RpmVerifyError('RPM_NOT_BINARY', 'main header: no SOURCERPM (1044), this is a source package', member);
  }

  const digestEntry = header.entries.get(Tag.PAYLOADDIGEST);
  const algoEntry = header.entries.get(Tag.PAYLOADDIGESTALGO);
  if (digestEntry === undefined || algoEntry === undefined) {
    // without it the payload is bound by nothing but legacy header+payload signatures: refuse
    throw new RpmVerifyError('RPM_PAYLOAD_DIGEST_MISSING', 'main header: no PAYLOADDIGEST/PAYLOADDIGESTALGO, the payload is not bound by the signed header', member);
  }
  const digestReader: EntryReader = { code: 'RPM_PAYLOAD_DIGEST_ALGO', where: 'main header', member };
  const algo = readUint32(algoEntry, digestReader);
  if (algo !== PGPHASHALGO_SHA256) {
    throw new RpmVerifyError('RPM_PAYLOAD_DIGEST_ALGO', `main header: payload digest algorithm ${algo} is not SHA-256 (8)`, member);
  }
  const [payloadDigest] = readStringArray(digestEntry, 1, 64, digestReader);
  if (payloadDigest === undefined || !/^[0-9a-f]{64}$/.test(payloadDigest)) {
    throw new RpmVerifyError('RPM_PAYLOAD_DIGEST_ALGO', 'main header: PAYLOADDIGEST is not 64 lowercase hex digits', member);
  }

  const payloadReader: EntryReader = { code: 'RPM_PAYLOAD_FORMAT', where: 'main header', member };
  // rpmbuild writes no compressor for an uncompressed payload (w0.ufdio); rpm then reads it through
  // its gzip reader, which passes plain data through
  for (const [tag, what, allowed, optional] of [
    [Tag.PAYLOADFORMAT, 'PAYLOADFORMAT', PAYLOAD_FORMATS, false],
    [Tag.PAYLOADCOMPRESSOR, 'PAYLOADCOMPRESSOR', PAYLOAD_COMPRESSORS, true],
  ] as const) {
    const entry = header.entries.get(tag);
    if (entry === undefined && optional) continue;
    if (entry === undefined) throw new RpmVerifyError('RPM_PAYLOAD_FORMAT', `main header: ${what} (${tag}) is missing`, member);
    const value = readString(entry, PAYLOAD_WORD_MAX, payloadReader);
    if (!allowed.has(value)) throw new RpmVerifyError('RPM_PAYLOAD_FORMAT', `main header: ${what} "${value}" is not one of ${[...allowed].join(', ')}`, member);
  }

  // last, so that the fields read above fail with their own codes first
  for (const [tag, entry] of header.entries) {
    if (!tagTypeAccepted(tag, entry.type)) {
      const expected = expectedTagType(tag) ?? 0;
      throw new RpmVerifyError('RPM_HEADER_TYPE_BAD', `main header: tag ${tag} has type ${entry.type}, rpm expects type ${expected}`, member);
    }
  }

  // informational only (it feeds createrepo_c's checksum-cache key): an odd form is not a rejection
  const sizeEntry = header.entries.get(Tag.SIZE);
  const installedSize =
    sizeEntry !== undefined && sizeEntry.type === HeaderType.INT32 && sizeEntry.count === 1 && sizeEntry.data.length >= 4
      ? new DataView(sizeEntry.data.buffer, sizeEntry.data.byteOffset, 4).getUint32(0)
      : null;

  // rpm writes the lead name as the header's NEVR: N-E:V-R whenever there is an EPOCH tag, 0
  // included; any other form would be a second encoding of the same signed package
  const leadName = epochEntry === undefined ? `${name}-${version}-${release}` : `${name}-${epoch}:${version}-${release}`;
  return { nevra: { name, epoch, version, release, arch }, payloadDigest, leadName, installedSize };
}

export function formatNevra(n: Nevra): string {
  return `${n.name}-${n.epoch === 0 ? '' : `${n.epoch}:`}${n.version}-${n.release}.${n.arch}`;
}
