import { RpmVerifyError } from '../errors.ts';

const BEGIN = '-----BEGIN PGP PUBLIC KEY BLOCK-----';
const END = '-----END PGP PUBLIC KEY BLOCK-----';
/** What rpmkeys searches the file for, each time it looks for the next key. */
const ANY_BEGIN = '-----BEGIN PGP ';

// GnuPG's armor line for `--export-secret-keys`; PGP 2 wrote SECRET
const PRIVATE_KEY_BLOCK = /^-----BEGIN PGP (?:PRIVATE|SECRET) KEY BLOCK-----/m;

/** An armor header line rpm 4.18 takes: one of its five keys, `: `, a value. */
const HEADER_LINE = /^(?:Version|Comment|MessageID|Hash|Charset): \S.*$/;
const BODY_LINE = /^[A-Za-z0-9+/]+={0,2}$/;
const CHECKSUM_LINE = /^=[A-Za-z0-9+/]{4}$/;

/**
 * The armored public key blocks of a key file. Text around them is taken, as rpmkeys takes it
 * (Red Hat ships its keys under a paragraph of prose), unless it holds `-----BEGIN PGP `: rpmkeys
 * tries to read a key at every one, wherever it stands.
 */
export function armorBlocks(text: string, source: string): string[] {
  // a private key where the public one belongs is a likely mistake, so it is named as what it is
  if (PRIVATE_KEY_BLOCK.test(text)) {
    throw new RpmVerifyError('KEYRING_PARSE', `key file ${source}: an armored private key block, not a public key; pin public keys only (gpg --export --armor)`);
  }
  const bad = (reason: string): never => {
    throw new RpmVerifyError('KEYRING_PARSE', `key file ${source}: ${reason}`);
  };
  // rpmkeys reads the file as a C string: whatever follows a NUL is not there for it
  const nul = text.indexOf('\0');
  if (nul >= 0) bad(`a NUL character at offset ${nul}`);
  const blocks: string[] = [];
  let rest = text;
  for (;;) {
    const begin = rest.indexOf(ANY_BEGIN);
    if (begin < 0) break;
    if (!rest.startsWith(BEGIN, begin)) {
      const line = rest.slice(begin).split('\n', 1)[0] ?? '';
      bad(`"${line.slice(0, 60)}" outside a public key block (rpm would try to read a key there); only public key blocks may start with "${ANY_BEGIN}"`);
    }
    const end = rest.indexOf(END, begin);
    if (end < 0) bad('armored block without an end line');
    const block = rest.slice(begin, end + END.length);
    if (block.includes(ANY_BEGIN, 1)) bad(`armored block ${blocks.length + 1} holds "${ANY_BEGIN}" after its begin line (rpm would start another key there)`);
    rest = rest.slice(end + END.length);
    // rpm takes the end line only when a line break or the end of the file follows it
    if (rest !== '' && !rest.startsWith('\n') && !rest.startsWith('\r')) bad(`armored block ${blocks.length + 1}: text after its end line on the same line`);
    blocks.push(block);
  }
  if (blocks.length === 0) bad('no armored public key block');
  return blocks;
}

/**
 * Checks one armored public key block as rpm 4.18 reads armor: the begin line, header lines
 * (rpm's five keys only) and one empty line, base64 lines with padding only at the very end, a
 * CRC-24 line that must match (RFC 9580 makes it optional; rpm requires it), the end line.
 * OpenPGP.js skips characters outside base64 and never checks the CRC, so a key file rpm refuses
 * would load here, and dom0's dnf could not check what the receiver published.
 */
export function checkArmor(block: string, where: string): void {
  const bad = (reason: string): never => {
    throw new RpmVerifyError('KEYRING_PARSE', `${where}: ${reason}`);
  };
  // CRLF as LF, as rpm takes it; a trailing blank rpm refuses, and so do we
  const lines = block.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines[0] !== BEGIN) bad('text after the begin line');
  let at = 1;
  while (at < lines.length && lines[at] !== '') {
    if (!HEADER_LINE.test(lines[at] ?? '')) bad(`line ${at + 1} is neither an armor header nor the empty line before the key`);
    at += 1;
  }
  at += 1;
  const last = lines.length - 1;
  let body = '';
  let checksum: string | undefined;
  for (; at < last; at += 1) {
    const line = lines[at] ?? '';
    if (CHECKSUM_LINE.test(line) && at === last - 1) {
      checksum = line.slice(1);
      break;
    }
    if (!BODY_LINE.test(line)) bad(`line ${at + 1} is not base64`);
    if (body.includes('=')) bad(`line ${at + 1} follows the base64 padding`);
    body += line;
  }
  if (lines[last] !== END) bad('text before the end line');
  if (body === '' || body.length % 4 !== 0) bad('the base64 body is empty or not a whole number of 4-character groups');
  if (/=[^=]/.test(body)) bad('base64 padding inside the body');
  if (checksum === undefined) return bad('no CRC-24 checksum line (=XXXX) before the end line; rpm 4.18 requires one (gpg --export --armor writes it)');
  const expected = Buffer.from(checksum, 'base64').readUIntBE(0, 3);
  if (crc24(Buffer.from(body, 'base64')) !== expected) bad('the CRC-24 checksum line does not match the key (a corrupted file?)');
}

/** RFC 9580 6.1.1. */
function crc24(bytes: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of bytes) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i += 1) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}
