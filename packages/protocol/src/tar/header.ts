import { StreamError } from '../errors.ts';
import { sanitizeAsciiBytesForTerminal } from '../sanitize.ts';
import {
  BLOCK_SIZE,
  FIELDS,
  USTAR_MAGIC,
  USTAR_VERSION,
  fieldOf,
  headerChecksum,
  isZero,
  type Field,
} from './layout.ts';

/** A header that passed every structural check; the name is still to be checked by the stream's rule. */
export interface UstarHeader {
  /** The name field as text; only printable ASCII reaches here. */
  readonly name: string;
  readonly size: number;
  readonly mode: number;
  readonly mtime: number;
}

const NUL = 0x00;
const SPACE = 0x20;

/**
 * Strict octal: one or more digits 0-7 from the first byte, then only NUL/space terminators to the
 * field's end (or no terminator when the digits fill it). No leading spaces, no base-256.
 */
export function parseOctal(field: Uint8Array): number | string {
  const first = field[0] ?? 0;
  // GNU's base-256 marks: 0x80 for a positive number, 0xff for a negative one; any other byte with
  // the high bit set is no number at all, and is said to be no octal digit below
  if (first === 0x80 || first === 0xff) return 'base-256 (binary) numbers are not allowed';
  let value = 0;
  let i = 0;
  while (i < field.length) {
    const byte = field[i] ?? 0;
    if (byte < 0x30 || byte > 0x37) break;
    value = value * 8 + (byte - 0x30);
    i++;
  }
  if (i === 0) return `expected an octal digit, found ${describeByte(first)}`;
  for (let j = i; j < field.length; j++) {
    const byte = field[j] ?? 0;
    if (byte === NUL || byte === SPACE) continue;
    // after the digits only terminators may follow: a digit here is not a bad digit but a number
    // that went on past its end ("0001\0 50")
    return byte >= 0x30 && byte <= 0x37
      ? `digit ${describeByte(byte)} at offset ${j} after the number ended at offset ${i}`
      : `non-octal character ${describeByte(byte)} at offset ${j}`;
  }
  return value;
}

function describeByte(byte: number): string {
  return byte >= 0x21 && byte < 0x7f ? `"${String.fromCharCode(byte)}"` : `0x${byte.toString(16).padStart(2, '0')}`;
}

/** A NUL-terminated text field: bytes up to the first NUL, then NUL only. Undefined if not. */
function cString(field: Uint8Array): Uint8Array | undefined {
  const end = field.indexOf(NUL);
  if (end === -1) return field;
  return isZero(field.subarray(end)) ? field.subarray(0, end) : undefined;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  '1': 'hard link',
  '2': 'symbolic link',
  '3': 'character device',
  '4': 'block device',
  '5': 'directory',
  '6': 'FIFO',
  '7': 'contiguous file',
  x: 'pax extended header',
  g: 'pax global header',
  L: 'GNU long name',
  K: 'GNU long link name',
  S: 'GNU sparse file',
  V: 'GNU volume label',
  M: 'GNU multi-volume continuation',
  N: 'GNU old long names',
  D: 'GNU dump directory',
};

function typeflagProblem(flag: number, member: string): StreamError | undefined {
  if (flag === 0x30 || flag === NUL) return undefined;
  const char = String.fromCharCode(flag);
  const known = TYPE_NAMES[char];
  if (char === '1' || char === '2') {
    return new StreamError('TAR_LINK_MEMBER', `${known ?? 'link'} members are not allowed`, member);
  }
  const what = known === undefined ? `unknown type flag ${describeByte(flag)}` : `${known} (type ${describeByte(flag)})`;
  return new StreamError('TAR_UNSUPPORTED_TYPE', `${what}: only regular files are allowed`, member);
}

function numberField(block: Uint8Array, field: Field, label: string, member: string): number {
  const parsed = parseOctal(fieldOf(block, field));
  if (typeof parsed === 'string') throw new StreamError('TAR_BAD_NUMBER', `${label} field: ${parsed}`, member);
  return parsed;
}

/**
 * Validates one non-zero header block completely before any field is used, in this order:
 * checksum, magic/version, type flag, numeric fields, link name, owner names, device numbers,
 * prefix, reserved bytes, name field. Throws `StreamError` on the first problem.
 */
export function parseHeaderBlock(block: Uint8Array): UstarHeader {
  if (block.length !== BLOCK_SIZE) throw new RangeError('a header block is 512 bytes');
  const nameField = fieldOf(block, FIELDS.name);
  const nameEnd = nameField.indexOf(NUL);
  const rawName = nameEnd === -1 ? nameField : nameField.subarray(0, nameEnd);
  // Shown in messages only; sanitised because it is still untrusted. The whole field is shown, so
  // "x.rpm\0junk" is never reported as a member called "x.rpm".
  const member = sanitizeAsciiBytesForTerminal(withoutTrailingNuls(nameField), 200);

  // A block that fails its checksum names no member: its name field is as unchecked as the rest
  // (random bytes, or a forged block naming a real package); the decoder says which header it was.
  const stored = parseOctal(fieldOf(block, FIELDS.checksum));
  if (typeof stored === 'string') throw new StreamError('TAR_BAD_CHECKSUM', `checksum field: ${stored}`);
  const computed = headerChecksum(block);
  if (stored !== computed) {
    throw new StreamError('TAR_BAD_CHECKSUM', `header checksum is ${stored.toString(8)} but the header sums to ${computed.toString(8)} (octal)`);
  }

  const magic = fieldOf(block, FIELDS.magic);
  const version = fieldOf(block, FIELDS.version);
  if (!equalBytes(magic, USTAR_MAGIC) || !equalBytes(version, USTAR_VERSION)) {
    const shown = sanitizeAsciiBytesForTerminal(block.subarray(FIELDS.magic.offset, FIELDS.version.offset + 2));
    const gnu = shown === 'ustar  \\x00';
    throw new StreamError(
      'TAR_BAD_MAGIC',
      gnu
        ? 'GNU tar format header ("ustar  "); only POSIX ustar ("ustar\\0" "00") is accepted'
        : `magic/version is "${shown}", expected "ustar\\x0000"`,
      member,
    );
  }

  const typeProblem = typeflagProblem(block[FIELDS.typeflag.offset] ?? 0, member);
  if (typeProblem !== undefined) throw typeProblem;

  const mode = numberField(block, FIELDS.mode, 'mode', member);
  if (mode > 0o7777) throw new StreamError('TAR_BAD_NUMBER', `mode ${mode.toString(8)} has file-type bits`, member);
  numberField(block, FIELDS.uid, 'uid', member);
  numberField(block, FIELDS.gid, 'gid', member);
  const size = numberField(block, FIELDS.size, 'size', member);
  const mtime = numberField(block, FIELDS.mtime, 'mtime', member);

  if (!isZero(fieldOf(block, FIELDS.linkname))) {
    throw new StreamError('TAR_LINK_MEMBER', 'a regular file must not carry a link name', member);
  }
  for (const [label, field] of [['uname', FIELDS.uname], ['gname', FIELDS.gname]] as const) {
    const text = cString(fieldOf(block, field));
    if (text === undefined || text.length === field.length || !text.every((b) => b > 0x20 && b < 0x7f)) {
      throw new StreamError('TAR_BAD_HEADER', `${label} field is not a NUL-terminated printable ASCII name`, member);
    }
  }
  for (const [label, field] of [['devmajor', FIELDS.devmajor], ['devminor', FIELDS.devminor]] as const) {
    const bytes = fieldOf(block, field);
    if (!isZero(bytes) && parseOctal(bytes) !== 0) {
      throw new StreamError('TAR_BAD_HEADER', `${label} field must be empty or zero for a regular file`, member);
    }
  }
  const prefix = fieldOf(block, FIELDS.prefix);
  if (!isZero(prefix)) {
    // the member shown is the name field alone: say what the prefix would have put in front of it,
    // from its first set byte (other writers' atime/ctime sit at its end, after NULs)
    const first = prefix.findIndex((b) => b !== NUL);
    const shownPrefix = sanitizeAsciiBytesForTerminal(withoutTrailingNuls(prefix.subarray(first)), 200);
    const where = first === 0 ? '' : ` from its byte ${String(first)} (header byte ${String(FIELDS.prefix.offset + first)})`;
    throw new StreamError('TAR_BAD_NAME', `the ustar prefix field is used${where} ("${shownPrefix}"; names must fit the 100-byte name field)`, member);
  }
  if (!isZero(fieldOf(block, FIELDS.pad))) {
    throw new StreamError('TAR_BAD_HEADER', 'reserved bytes 500-511 of the header are not zero', member);
  }

  if (nameEnd !== -1 && !isZero(nameField.subarray(nameEnd))) {
    throw new StreamError('TAR_BAD_NAME', 'the name field has bytes after a NUL (a NUL inside the name)', member);
  }
  if (!rawName.every((b) => b >= 0x20 && b < 0x7f)) {
    throw new StreamError('TAR_BAD_NAME', 'the name contains control characters or bytes outside printable ASCII', member);
  }
  return { name: String.fromCharCode(...rawName), size, mode, mtime };
}

/** A field without its NUL padding, so a message shows every byte that was set (a NUL inside too). */
function withoutTrailingNuls(field: Uint8Array): Uint8Array {
  let end = field.length;
  while (end > 0 && field[end - 1] === NUL) end -= 1;
  return field.subarray(0, end);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
