import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archive, base256, concatBytes, endMarker, member, openCorpus, toBytes, ustarHeader, zeros, type Corpus, type HeaderFields } from '../src/index.ts';
import { bytesOf, type StreamCase } from './support.ts';

let corpus: Corpus;
let good: Uint8Array;
const NAME = 'dom0-hello-2.0-1.noarch.rpm';

beforeAll(async () => {
  corpus = await openCorpus('headers');
  good = await bytesOf(corpus.fx.packages.v2[0]);
});
afterAll(async () => corpus.close());

/** The good package with one header field replaced. */
function withField(fields: Partial<HeaderFields> | (() => Partial<HeaderFields>)): () => Uint8Array {
  return () => archive([member(NAME, good, { header: typeof fields === 'function' ? fields() : fields })]);
}

function goodStream(): Uint8Array {
  return archive([member(NAME, good)]);
}

const CHECKSUM = ['TAR_BAD_CHECKSUM'];
const MAGIC = ['TAR_BAD_MAGIC'];
const NUMBER = ['TAR_BAD_NUMBER'];
const HEADER = ['TAR_BAD_HEADER'];

const cases: StreamCase[] = [
  { title: 'rejects a checksum off by one', stream: () => { const s = goodStream(); s[148 + 5] = (s[148 + 5] ?? 0x30) ^ 1; return s; }, expected: CHECKSUM },
  { title: 'rejects a header signed-char checksum over a high-bit byte', stream: withField({ uname: new Uint8Array([0xe9, 0x72]), chksum: { sum: 'signed' } }), expected: CHECKSUM },
  { title: 'rejects a non-octal checksum field', stream: withField({ chksum: '0012a45\0' }), expected: CHECKSUM },
  { title: 'rejects an all-space checksum field', stream: withField({ chksum: '        ' }), expected: CHECKSUM },
  { title: 'rejects an all-NUL checksum field', stream: withField({ chksum: '\0\0\0\0\0\0\0\0' }), expected: CHECKSUM },
  { title: 'rejects a valid header that was bit-flipped after checksumming (name byte)', stream: () => { const s = goodStream(); s[0] = 0x65; return s; }, expected: CHECKSUM },
  { title: 'rejects GNU magic "ustar  " with a correct checksum', stream: withField({ magic: 'ustar ', version: ' \0' }), expected: MAGIC },
  { title: 'rejects ustar magic with an empty version', stream: withField({ version: '\0\0' }), expected: MAGIC },
  { title: 'rejects ustar magic with version 01', stream: withField({ version: '01' }), expected: MAGIC },
  { title: 'rejects upper-case USTAR magic', stream: withField({ magic: 'USTAR\0' }), expected: MAGIC },
  { title: 'rejects a V7 header with no magic at all', stream: withField({ magic: '\0\0\0\0\0\0', version: '\0\0', uname: '', gname: '' }), expected: MAGIC },
  { title: 'rejects a positive base-256 size', stream: withField(() => ({ size: base256(BigInt(good.length), 12) })), expected: NUMBER },
  { title: 'rejects a negative base-256 size (tar-stream turns it into -512 and hangs)', stream: withField({ size: base256(-1n, 12) }), expected: NUMBER },
  { title: 'rejects a huge negative base-256 size', stream: withField({ size: base256(-(1n << 63n), 12) }), expected: NUMBER },
  { title: 'rejects a size with trailing garbage 00000000012x', stream: withField({ size: '00000000012x' }), expected: NUMBER },
  { title: 'rejects a size with a leading space', stream: withField(() => ({ size: ` ${good.length.toString(8).padStart(10, '0')}\0` })), expected: NUMBER },
  { title: 'rejects a size with a plus sign', stream: withField(() => ({ size: `+${good.length.toString(8).padStart(10, '0')}\0` })), expected: NUMBER },
  { title: 'rejects a size with a minus sign', stream: withField({ size: '-0000000001\0' }), expected: NUMBER },
  { title: 'rejects an empty (all-NUL) size field', stream: withField({ size: '\0'.repeat(12) }), expected: NUMBER },
  { title: 'rejects a size with digits after its terminator', stream: withField(() => ({ size: `${good.length.toString(8)}\u0000\u00001` })), expected: NUMBER },
  { title: 'rejects a size holding the non-octal digit 8', stream: withField({ size: '00000000008\0' }), expected: NUMBER },
  { title: 'rejects a hexadecimal size', stream: withField({ size: '0x1838\0' }), expected: NUMBER },
  { title: 'rejects a mode above 07777', stream: withField({ mode: '0010644\0' }), expected: NUMBER },
  { title: 'rejects a base-256 mode', stream: withField({ mode: base256(0o644n, 8) }), expected: NUMBER },
  { title: 'rejects a negative base-256 uid (would map to root on some unpackers)', stream: withField({ uid: base256(-1n, 8) }), expected: NUMBER },
  { title: 'rejects a gid with garbage', stream: withField({ gid: 'wheel\0' }), expected: NUMBER },
  { title: 'rejects an mtime with garbage', stream: withField({ mtime: 'yesterday\0' }), expected: NUMBER },
  { title: 'rejects a uname that fills all 32 bytes without a NUL', stream: withField({ uname: 'u'.repeat(32) }), expected: HEADER },
  { title: 'rejects a uname holding an escape sequence and never prints it raw', stream: withField({ uname: '\u001b[2J\u001b[H' }), expected: HEADER },
  { title: 'rejects a gname with bytes after its NUL', stream: withField({ gname: 'root\0evil' }), expected: HEADER },
  { title: 'rejects a uname with a high-bit byte under a correct unsigned checksum', stream: withField({ uname: new Uint8Array([0xe9, 0x72]) }), expected: HEADER },
  { title: 'rejects a non-zero device major number', stream: withField({ devmajor: '0000001\0' }), expected: HEADER },
  { title: 'rejects a garbage device minor number', stream: withField({ devminor: 'zz\0' }), expected: HEADER },
  { title: 'rejects non-zero bytes in the reserved tail of the header', stream: withField({ reserved: 'hidden' }), expected: HEADER },
  { title: 'rejects a ustar prefix field in use', stream: withField({ prefix: 'a' }), expected: ['TAR_BAD_NAME'] },
  {
    title: 'rejects non-zero padding after the body',
    stream: () => { const pad = zeros((512 - (good.length % 512)) % 512); pad[pad.length - 1] = 1; return archive([member(NAME, good, { padding: pad })]); },
    expected: ['TAR_BAD_PADDING'],
  },
  {
    title: 'rejects a second header hidden in the padding after the body',
    stream: () => {
      const padLen = (512 - (good.length % 512)) % 512;
      const pad = zeros(padLen);
      pad.set(toBytes('evil.rpm').subarray(0, padLen));
      return archive([member(NAME, good, { padding: pad })]);
    },
    expected: ['TAR_BAD_PADDING'],
  },
  {
    title: 'rejects a size smaller than the package (the rest would be parsed as headers)',
    stream: withField({ size: 1000 }),
    expected: ['TAR_BAD_PADDING', 'RPM_TRUNCATED', 'RPM_SIZE_MISMATCH', 'RPM_HEADER_BOUNDS'],
  },
  {
    title: 'rejects a size larger than the package (the end marker would become body)',
    stream: () => concatBytes([ustarHeader({ name: NAME, size: good.length + 1024 }), good, zeros(1024 + ((512 - (good.length % 512)) % 512)), endMarker()]),
    expected: ['RPM_TRAILING_DATA', 'RPM_SIZE_MISMATCH'],
  },
  {
    title: 'rejects a bad header after a good member and publishes neither',
    stream: () => { const s = concatBytes([member(NAME, good), member('dom0-other.rpm', good), endMarker()]); const at = 512 + good.length + ((512 - (good.length % 512)) % 512); s[at + 3] = 0x21; return s; },
    expected: CHECKSUM,
  },
  // End of archive and truncation
  { title: 'rejects an empty stream (no end marker)', stream: () => new Uint8Array(0), expected: ['TAR_MISSING_END'] },
  { title: 'rejects a member with no end marker after it', stream: () => member(NAME, good), expected: ['TAR_MISSING_END'] },
  { title: 'rejects one zero block then EOF', stream: () => concatBytes([member(NAME, good), zeros(512)]), expected: ['TAR_MISSING_END'] },
  { title: 'rejects one zero block then another header (tar -i style hiding)', stream: () => concatBytes([member(NAME, good), zeros(512), member('b.rpm', good), endMarker()]), expected: ['TAR_MISSING_END'] },
  { title: 'rejects a stream cut inside the second zero block', stream: () => concatBytes([member(NAME, good), zeros(700)]), expected: ['TAR_TRUNCATED'] },
  { title: 'rejects a non-zero byte right after the end marker', stream: () => concatBytes([goodStream(), new Uint8Array([1])]), expected: ['TAR_TRAILING_DATA'] },
  { title: 'rejects 10241 zero bytes after the end marker', stream: () => concatBytes([goodStream(), zeros(10241)]), expected: ['TAR_TRAILING_DATA'] },
  { title: 'rejects a second archive appended after the end marker', stream: () => concatBytes([goodStream(), archive([member('second.rpm', good)])]), expected: ['TAR_TRAILING_DATA'] },
  { title: 'rejects a non-zero byte at the very end of the allowed 10240-byte record padding', stream: () => { const t = zeros(10240); t[10239] = 0x41; return concatBytes([goodStream(), t]); }, expected: ['TAR_TRAILING_DATA'] },
];

// Cut one good stream at offsets in every region: header, body, padding, end marker.
const CUTS: [string, (len: number, padded: number) => number, string[]][] = [
  ['1 byte into the header', () => 1, ['TAR_TRUNCATED']],
  ['in the middle of the header', () => 257, ['TAR_TRUNCATED']],
  ['one byte before the header ends', () => 511, ['TAR_TRUNCATED']],
  ['right after the header', () => 512, ['TAR_TRUNCATED']],
  ['inside the RPM lead', () => 512 + 50, ['TAR_TRUNCATED']],
  ['inside the signature header', () => 512 + 200, ['TAR_TRUNCATED']],
  ['in the middle of the body', (len) => 512 + Math.floor(len / 2), ['TAR_TRUNCATED']],
  ['one byte before the body ends', (len) => 512 + len - 1, ['TAR_TRUNCATED']],
  ['right after the body, before the padding', (len) => 512 + len, ['TAR_TRUNCATED']],
  ['inside the padding', (_len, padded) => padded - 1, ['TAR_TRUNCATED']],
  ['right after the padding (no end marker)', (_len, padded) => padded, ['TAR_MISSING_END']],
  ['inside the first zero block', (_len, padded) => padded + 100, ['TAR_TRUNCATED']],
  ['inside the second zero block', (_len, padded) => padded + 1023, ['TAR_TRUNCATED']],
];

describe.concurrent('header fields, end marker and trailing data', () => {
  for (const c of cases) {
    it(c.title, async () => {
      const report = await corpus.reject(await c.stream(), c.expected);
      expect(report.problems).toEqual([]);
    });
  }
});

describe.concurrent('truncation at every region of a good stream', () => {
  for (const [where, offset, expected] of CUTS) {
    it(`rejects a stream cut ${where}`, async () => {
      const padded = 512 + good.length + ((512 - (good.length % 512)) % 512);
      const report = await corpus.reject(goodStream().subarray(0, offset(good.length, padded)), expected);
      expect(report.problems).toEqual([]);
    });
  }
});
