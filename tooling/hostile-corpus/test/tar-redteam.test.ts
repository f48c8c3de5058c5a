/**
 * A second, independent pass over the stream classes of the threat catalogue: the variants the
 * first corpus did not spell out (links without targets, header-only extension members, octal
 * spellings, the order of checks when two rules fail, the bad member coming last, limits exactly
 * at and one past, stalls in every region, refusals before the lock), plus the controls that show
 * the lenient-but-valid spellings of the spec are still accepted.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archive, captureRepoState, concatBytes, judgeRejection, leftovers, member, openCorpus, parseReply, rawControlProblems,
  receive, stallAfter, ustarHeader, zeros, type Corpus, type ReceiveOptions, type StreamSource,
} from '../src/index.ts';
import { memberWithChecksum } from '../src/tar/checksum-spelling.ts';
import { bytesOf, type StreamCase } from './support.ts';

let corpus: Corpus;
let good: Uint8Array;
/** The three v2 packages, each { name, bytes }; none is in the baseline (v1). */
let v2: { name: string; bytes: Uint8Array }[];
const NAME = 'dom0-hello-2.0-1.noarch.rpm';
const PUBLISHED_V1 = 'dom0-hello-1.0-1.noarch.rpm';

beforeAll(async () => {
  corpus = await openCorpus('redteam');
  v2 = await Promise.all(corpus.fx.packages.v2.map(async (p) => ({ name: p.fileName, bytes: await bytesOf(p) })));
  good = v2[0]!.bytes;
  if (v2[0]!.name !== NAME) throw new Error(`fixture renamed: ${v2[0]!.name}`);
});
afterAll(async () => corpus.close());

const Z = zeros(512);
const LINK = ['TAR_LINK_MEMBER'];
const UNSUPPORTED = ['TAR_UNSUPPORTED_TYPE'];
const BAD_NAME = ['TAR_BAD_NAME'];
const CHECKSUM = ['TAR_BAD_CHECKSUM'];
const NUMBER = ['TAR_BAD_NUMBER'];
const HEADER = ['TAR_BAD_HEADER'];
const MAGIC = ['TAR_BAD_MAGIC'];

function headerOnly(name: string | Uint8Array, typeflag: string, linkname = ''): Uint8Array {
  return ustarHeader({ name, size: 0, typeflag, linkname });
}
/** The three good v2 members, no end marker: a prefix for "bad member last" cases. */
function goodMembers(): Uint8Array {
  return concatBytes(v2.map((p) => member(p.name, p.bytes)));
}
function oneGood(header: Parameters<typeof member>[2] = {}): Uint8Array {
  return archive([member(NAME, good, header)]);
}
function totalBytes(): number {
  return v2.reduce((n, p) => n + p.bytes.length, 0);
}
async function fixtureBytes(group: 'unsigned' | 'untrusted' | 'rpmv3' | 'extra' | 'v1', index = 0): Promise<{ name: string; bytes: Uint8Array }> {
  const pkg = group === 'extra' || group === 'v1' ? corpus.fx.packages[group][index] : corpus.fx[group][index];
  return { name: pkg!.fileName, bytes: await bytesOf(pkg) };
}
const octalSum = (sum: number, digits: number): string => sum.toString(8).padStart(digits, '0');

/** StreamCase with flags computed when the case runs (some depend on the fixtures' sizes). */
type RedTeamCase = Omit<StreamCase, 'flags'> & { flags?: () => readonly string[] };

const links: RedTeamCase[] = [
  { title: 'rejects a hard link member with no link target', stream: () => archive([headerOnly('x.rpm', '1')]), expected: LINK },
  { title: 'rejects a symlink member with no link target', stream: () => archive([headerOnly('x.rpm', '2')]), expected: LINK },
  { title: 'rejects a hard link to a file the repository already publishes', stream: () => archive([headerOnly('x.rpm', '1', PUBLISHED_V1)]), expected: LINK },
  { title: 'rejects a symlink named like the good package, followed by the package itself', stream: () => archive([headerOnly(NAME, '2', '/etc/passwd'), member(NAME, good)]), expected: LINK },
  { title: 'rejects a symlink that comes last after three good packages, publishing none', stream: () => archive([goodMembers(), headerOnly('z.rpm', '2', '/x')]), expected: LINK },
  { title: 'rejects a hard link last, pointing at the first good member', stream: () => archive([goodMembers(), headerOnly('z.rpm', '1', NAME)]), expected: LINK },
  { title: 'rejects a regular file whose link name is all spaces', stream: () => oneGood({ header: { linkname: ' '.repeat(100) } }), expected: LINK },
  { title: 'rejects a regular file whose link name has one byte at its very end', stream: () => oneGood({ header: { linkname: concatBytes([zeros(99), new Uint8Array([0x58])]) } }), expected: LINK },
  { title: 'rejects a second member of the same name that is a symlink', stream: () => archive([member(NAME, good), headerOnly(NAME, '2', '/etc/passwd')]), expected: LINK },
  ...['K', 'x', 'g'].map((flag) => ({
    title: `rejects a header-only type ${flag} member (size 0, no body)`,
    stream: () => archive([headerOnly('x.rpm', flag)]),
    expected: UNSUPPORTED,
  })),
  { title: 'rejects a pax header that claims 8 GiB and sends three bytes', stream: () => concatBytes([ustarHeader({ name: 'x.rpm', size: '77777777777\0', typeflag: 'x' }), new Uint8Array([1, 2, 3])]), expected: UNSUPPORTED },
  { title: 'rejects a lower-case l type flag (not GNU L)', stream: () => oneGood({ header: { typeflag: 'l' } }), expected: UNSUPPORTED },
  { title: 'rejects a type flag byte 0xff', stream: () => oneGood({ header: { typeflag: new Uint8Array([0xff]) } }), expected: UNSUPPORTED },
  { title: 'rejects a directory entry after a good member of the same name', stream: () => archive([member(NAME, good), headerOnly(NAME, '5')]), expected: UNSUPPORTED },
];

const names: RedTeamCase[] = [
  { title: 'reads a 100-byte name to its end (no NUL) and then refuses it only as not the package\'s own name', stream: () => archive([member(`${'a'.repeat(96)}.rpm`, good)]), expected: ['RPM_FILE_NAME_MISMATCH'] },
  { title: 'rejects a 100-byte name with one more byte in the prefix field', stream: () => archive([member(`${'a'.repeat(96)}.rpm`, good, { header: { prefix: 'b' } })]), expected: BAD_NAME },
  { title: 'rejects a name field that starts with NUL and hides a name after it', stream: () => archive([member(concatBytes([zeros(1), new TextEncoder().encode('x.rpm')]), good)]), expected: BAD_NAME },
  { title: 'rejects an empty name field with the name in the prefix field', stream: () => archive([member('', good, { header: { prefix: 'x.rpm' } })]), expected: BAD_NAME },
  { title: 'rejects a tab in the name', stream: () => archive([member('x\t.rpm', good)]), expected: BAD_NAME },
  { title: 'rejects a carriage return in the name', stream: () => archive([member('x\r.rpm', good)]), expected: BAD_NAME },
  { title: 'rejects an OSC 52 clipboard-write sequence in the name and never prints it raw', stream: () => archive([member('\u001b]52;c;cm0gLXJmIC8K\u0007.rpm', good)]), expected: BAD_NAME },
  { title: 'rejects a Latin-1 byte (0xe9) in the name', stream: () => archive([member(new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x72, 0x70, 0x6d]), good)]), expected: BAD_NAME },
  { title: 'rejects a UTF-8 encoded C1 CSI (U+009B) in the name', stream: () => archive([member('x\u009b2J.rpm', good)]), expected: BAD_NAME },
  ...['a:b.rpm', 'a@b.rpm', '_x.rpm', 'x.rpm.'].map((name) => ({
    title: `rejects the name ${name} (outside the allow-list)`,
    stream: () => archive([member(name, good)]),
    expected: BAD_NAME,
  })),
  { title: 'rejects a name that differs only in case from a published file, carrying that file\'s bytes', stream: async () => archive([member(PUBLISHED_V1.replace('dom0', 'DOM0'), (await fixtureBytes('v1')).bytes)]), expected: ['RPM_FILE_NAME_MISMATCH'] },
  { title: 'rejects a published package sent under the name of its newer version', stream: async () => archive([member(NAME, (await fixtureBytes('v1')).bytes)]), expected: ['RPM_FILE_NAME_MISMATCH'] },
  { title: 'rejects a name that passes the rule but is not the package\'s own (a..rpm)', stream: () => archive([member('a..rpm', good)]), expected: ['RPM_FILE_NAME_MISMATCH'] },
  {
    title: 'rejects a case-folded duplicate that comes third, after two good members',
    stream: () => archive([member(v2[0]!.name, v2[0]!.bytes), member(v2[1]!.name, v2[1]!.bytes), member(NAME.replace('hello', 'HELLO'), good)]),
    expected: ['TAR_DUPLICATE_NAME'],
  },
];

const checksums: RedTeamCase[] = [
  { title: 'rejects a checksum spelled with a leading space', stream: () => archive([memberWithChecksum(NAME, good, (s) => ` ${octalSum(s, 6)}\0`)]), expected: CHECKSUM },
  { title: 'rejects a checksum computed with its own field as NULs instead of spaces', stream: () => archive([memberWithChecksum(NAME, good, (s) => `${octalSum(s - 256, 6)}\0 `)]), expected: CHECKSUM },
  { title: 'rejects a checksum written in decimal', stream: () => archive([memberWithChecksum(NAME, good, (s) => `${String(s).padStart(6, '0')}\0 `)]), expected: CHECKSUM },
  { title: 'rejects a base-256 checksum', stream: () => archive([memberWithChecksum(NAME, good, (s) => new Uint8Array([0x80, 0, 0, 0, 0, 0, s >> 8, s & 0xff]))]), expected: CHECKSUM },
  { title: 'rejects a digit after the checksum terminators', stream: () => archive([memberWithChecksum(NAME, good, (s) => `${octalSum(s, 6)}\u00001`)]), expected: CHECKSUM },
  {
    title: 'rejects an all-zero block that carries only a checksum field (not an end marker)',
    stream: () => { const b = zeros(512); b.set(new TextEncoder().encode('000400\0 '), 148); return concatBytes([b, zeros(1024)]); },
    expected: [...CHECKSUM, ...MAGIC],
  },
];

const numbers: RedTeamCase[] = [
  { title: 'rejects a size with a digit after a space terminator', stream: () => oneGood({ header: { size: `${good.length.toString(8)} 1` } }), expected: NUMBER },
  { title: 'rejects a size that starts with NUL', stream: () => oneGood({ header: { size: `\0${good.length.toString(8)}` } }), expected: NUMBER },
  { title: 'rejects a size of only spaces', stream: () => oneGood({ header: { size: ' '.repeat(12) } }), expected: NUMBER },
  { title: 'rejects a size in fullwidth digits', stream: () => oneGood({ header: { size: '\uff11\0' } }), expected: NUMBER },
  { title: 'rejects a mode with the regular-file type bits 0100644', stream: () => oneGood({ header: { mode: '100644\0\0' } }), expected: NUMBER },
  { title: 'rejects a negative base-256 mtime (pre-1970, as GNU writes it)', stream: () => oneGood({ header: { mtime: new Uint8Array(12).fill(0xff) } }), expected: NUMBER },
  { title: 'rejects an empty mtime field', stream: () => oneGood({ header: { mtime: '\0'.repeat(12) } }), expected: NUMBER },
  { title: 'rejects a size-0 member that claims to be a package', stream: () => archive([ustarHeader({ name: 'x.rpm', size: 0 })]), expected: ['RPM_TRUNCATED'] },
  { title: 'rejects a device major of spaces only', stream: () => oneGood({ header: { devmajor: ' '.repeat(8) } }), expected: HEADER },
  { title: 'rejects a uname with a space', stream: () => oneGood({ header: { uname: 'a b' } }), expected: HEADER },
  { title: 'rejects a non-zero last byte (511) of the header', stream: () => oneGood({ header: { reserved: concatBytes([zeros(11), new Uint8Array([1])]) } }), expected: HEADER },
  { title: 'rejects version " 0"', stream: () => oneGood({ header: { version: ' 0' } }), expected: MAGIC },
  { title: 'rejects magic "ustar " with version "00"', stream: () => oneGood({ header: { magic: 'ustar ' } }), expected: MAGIC },
  { title: 'rejects a prefix field with one byte at its very end', stream: () => oneGood({ header: { prefix: concatBytes([zeros(154), new Uint8Array([0x78])]) } }), expected: BAD_NAME },
];

/** Two faults in one header: the earlier rule of SPEC §3.4 decides the code. */
const order: RedTeamCase[] = [
  { title: 'reports the checksum before the magic', stream: () => oneGood({ header: { magic: 'xxxxx\0', chksum: '0000000\0' } }), expected: CHECKSUM },
  { title: 'reports the magic before a link type', stream: () => oneGood({ header: { magic: 'ustar ', version: ' \0', typeflag: '2' } }), expected: MAGIC },
  { title: 'reports a link type before a bad size', stream: () => oneGood({ header: { typeflag: '2', size: 'zz\0' } }), expected: LINK },
  { title: 'reports an unsupported type before a bad mode', stream: () => oneGood({ header: { typeflag: '5', mode: 'zz\0' } }), expected: UNSUPPORTED },
  { title: 'reports an unsupported type before a link name', stream: () => oneGood({ header: { typeflag: '5', linkname: 'x' } }), expected: UNSUPPORTED },
  { title: 'reports a bad number before a link name', stream: () => oneGood({ header: { mtime: 'x\0', linkname: 'y' } }), expected: NUMBER },
  { title: 'reports a link name before a bad uname', stream: () => oneGood({ header: { linkname: 'y', uname: 'a b' } }), expected: LINK },
  { title: 'reports a bad uname before a used prefix', stream: () => oneGood({ header: { uname: 'a b', prefix: 'p' } }), expected: HEADER },
  { title: 'reports a used prefix before reserved bytes', stream: () => oneGood({ header: { prefix: 'p', reserved: 'r' } }), expected: BAD_NAME },
  { title: 'reports reserved bytes before a bad name', stream: () => archive([member('../x.rpm', good, { header: { reserved: 'r' } })]), expected: HEADER },
  { title: 'reports a bad name before an oversized member', stream: () => archive([ustarHeader({ name: '../x.rpm', size: '77777777777\0' })]), expected: BAD_NAME },
  { title: 'reports a duplicate before the member count', stream: () => archive([member(NAME, good), member(NAME, good)]), expected: ['TAR_DUPLICATE_NAME'], flags: () => ['--max-files', '1'] },
  { title: 'reports the member count before the member size', stream: () => archive([member(NAME, good), ustarHeader({ name: 'y.rpm', size: '77777777777\0' })]), expected: ['TAR_TOO_MANY_MEMBERS'], flags: () => ['--max-files', '1'] },
  { title: 'reports the member size before the total', stream: () => archive([member(NAME, good), ustarHeader({ name: 'y.rpm', size: good.length + 1 })]), expected: ['TAR_MEMBER_TOO_LARGE'], flags: () => ['--max-bytes', String(good.length)] },
];

const endOfArchive: RedTeamCase[] = [
  { title: 'rejects 23 zero blocks and nothing else (one block past the allowed record padding)', stream: () => zeros(23 * 512), expected: ['TAR_TRAILING_DATA'] },
  { title: 'rejects a one-byte stream', stream: () => new Uint8Array([0x41]), expected: ['TAR_TRUNCATED'] },
  { title: 'rejects half a zero block', stream: () => zeros(256), expected: ['TAR_TRUNCATED'] },
  { title: 'rejects a zero block followed by non-zero garbage', stream: () => concatBytes([Z, new Uint8Array(512).fill(0x41)]), expected: ['TAR_MISSING_END'] },
  { title: 'rejects a zero block followed by a block with only its last byte set', stream: () => { const b = zeros(512); b[511] = 1; return concatBytes([Z, b]); }, expected: ['TAR_MISSING_END'] },
  { title: 'rejects three good packages followed by a single zero block', stream: () => concatBytes([goodMembers(), Z]), expected: ['TAR_MISSING_END'] },
  { title: 'rejects a valid header hidden after 10240 trailing zero bytes', stream: async () => concatBytes([goodMembers(), zeros(1024), zeros(10240), member(PUBLISHED_V1, (await fixtureBytes('v1')).bytes)]), expected: ['TAR_TRAILING_DATA'] },
];

/** Good packages first, the bad one last: the batch is all or nothing. */
const badLast: RedTeamCase[] = [
  { title: 'rejects an unsigned package that comes after three good ones', stream: async () => archive([member(v2[1]!.name, v2[1]!.bytes), member(v2[2]!.name, v2[2]!.bytes), member((await fixtureBytes('extra')).name, (await fixtureBytes('extra')).bytes), member(NAME, (await fixtureBytes('unsigned')).bytes)]), expected: ['RPM_UNSIGNED'] },
  { title: 'rejects a package signed by an unpinned key that comes after three good ones', stream: async () => archive([member(v2[1]!.name, v2[1]!.bytes), member(v2[2]!.name, v2[2]!.bytes), member((await fixtureBytes('extra')).name, (await fixtureBytes('extra')).bytes), member(NAME, (await fixtureBytes('untrusted')).bytes)]), expected: ['RPM_KEY_NOT_TRUSTED'] },
  { title: 'rejects a bit-flipped package that comes after three good ones', stream: async () => { const x = await fixtureBytes('extra'); const evil = x.bytes.slice(); evil[evil.length - 1] = (evil[evil.length - 1] ?? 0) ^ 1; return archive([goodMembers(), member(x.name, evil)]); }, expected: ['RPM_PAYLOAD_MISMATCH', 'RPM_DIGEST_MISMATCH'] },
  { title: 'rejects a renamed good package that comes last', stream: async () => archive([goodMembers(), member('zzz-1-1.noarch.rpm', (await fixtureBytes('v1')).bytes)]), expected: ['RPM_FILE_NAME_MISMATCH'] },
  {
    title: 'rejects non-zero padding after the last of three good packages',
    stream: () => {
      const last = v2[2]!;
      const pad = zeros((512 - (last.bytes.length % 512)) % 512);
      pad[pad.length - 1] = 1;
      return archive([member(v2[0]!.name, v2[0]!.bytes), member(v2[1]!.name, v2[1]!.bytes), member(last.name, last.bytes, { padding: pad })]);
    },
    expected: ['TAR_BAD_PADDING'],
  },
  { title: 'rejects a fourth header cut short after three good packages', stream: () => concatBytes([goodMembers(), ustarHeader({ name: 'x.rpm', size: 100 }).subarray(0, 300)]), expected: ['TAR_TRUNCATED'] },
  { title: 'rejects a fourth member that declares 8 GiB and sends three bytes', stream: () => concatBytes([goodMembers(), ustarHeader({ name: 'x.rpm', size: '77777777777\0' }), new Uint8Array([1, 2, 3])]), expected: ['TAR_MEMBER_TOO_LARGE'] },
  { title: 'rejects a fourth member whose body ends early', stream: () => concatBytes([goodMembers(), ustarHeader({ name: 'x.rpm', size: 1000 }), new Uint8Array([0xed, 0xab, 0xee, 0xdb]), zeros(20)]), expected: ['TAR_TRUNCATED'] },
];

const limits: RedTeamCase[] = [
  { title: 'rejects members one byte over --max-bytes in total', stream: () => archive([goodMembers()]), expected: ['TAR_TOO_MANY_BYTES'], flags: () => ['--max-bytes', String(totalBytes() - 1)] },
  { title: 'rejects a member one byte over --max-bytes', stream: () => oneGood(), expected: ['TAR_MEMBER_TOO_LARGE'], flags: () => ['--max-bytes', String(good.length - 1)] },
  { title: 'lets --max-files win over a larger UPDATES_MAX_FILES', stream: () => archive([goodMembers()]), expected: ['TAR_TOO_MANY_MEMBERS'], flags: () => ['--max-files', '2'] },
];

function runCases(label: string, cases: RedTeamCase[], env: Record<string, string> = {}): void {
  describe.concurrent(label, () => {
    for (const c of cases) {
      it(c.title, async () => {
        const report = await corpus.reject(await c.stream(), c.expected, { ...(c.flags === undefined ? {} : { flags: c.flags() }), env });
        expect(report.problems).toEqual([]);
        expect(c.expected).toContain(report.code);
      });
    }
  });
}

runCases('link and extension members, header-only and after good members', links);
runCases('names at the edges of the rule', names);
runCases('checksum spellings', checksums);
runCases('number and text fields', numbers);
runCases('order of checks when two rules fail', order);
runCases('end of archive', endOfArchive);
runCases('the bad member comes last', badLast);
runCases('limits exactly one past', limits, { UPDATES_MAX_FILES: '3' });

describe.concurrent('stalls in every region and prompt rejection while the sender stalls', () => {
  const stalls: [string, () => Uint8Array][] = [
    ['half-way through a header', () => ustarHeader({ name: NAME, size: good.length }).subarray(0, 200)],
    ['inside the padding after a body', () => member(NAME, good).subarray(0, 512 + good.length + 3)],
    ['after the first zero block of the end marker', () => concatBytes([member(NAME, good), Z])],
  ];
  for (const [where, prefix] of stalls) {
    it(`rejects a sender that stalls ${where}`, async () => {
      const report = await corpus.reject(stallAfter(prefix()), ['TAR_TIMEOUT'], { flags: ['--idle-timeout', '1'], timeout: 5 });
      expect(report.problems).toEqual([]);
    });
  }

  it('rejects a stalled sender with only --timeout given (the idle deadline defaults to it)', async () => {
    const report = await corpus.reject(stallAfter(new Uint8Array(0)), ['TAR_TIMEOUT'], { timeout: 2 });
    expect(report.problems).toEqual([]);
  });

  // Each stalls forever after the fault: the code proves the receiver answered at the fault
  // instead of waiting out the 60 s deadline (which would be TAR_TIMEOUT or a guard kill).
  const prompt: [string, () => Uint8Array, string[]][] = [
    ['a traversal name', () => archive([headerOnly('../x.rpm', '0')]), BAD_NAME],
    ['a hard link after a good member', () => concatBytes([member(NAME, good), headerOnly('x.rpm', '1')]), LINK],
    ['a header that declares 8 GiB', () => ustarHeader({ name: 'x.rpm', size: '77777777777\0' }), ['TAR_MEMBER_TOO_LARGE']],
    ['a non-zero byte after the end marker', () => concatBytes([oneGood(), new Uint8Array([1])]), ['TAR_TRAILING_DATA']],
  ];
  for (const [what, prefix, expected] of prompt) {
    it(`rejects ${what} at once although the sender then stalls`, async () => {
      const report = await corpus.reject(stallAfter(prefix()), expected, { timeout: 60, guardMs: 50_000 });
      expect(report.problems).toEqual([]);
    });
  }
});

/** A sender that hands the stream over in uneven pieces, yielding to the event loop between them. */
function unevenChunks(bytes: Uint8Array): StreamSource {
  return async function* pieces(signal) {
    let offset = 0;
    for (let k = 1; offset < bytes.length && !signal.aborted; k += 1) {
      const size = 1 + ((k * 7919) % 700);
      yield bytes.slice(offset, offset + size);
      offset += size;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
}

interface Published {
  exitCode: number | null;
  files: string[];
  modes: Record<string, string>;
  unchanged: boolean;
}

/** A run that must succeed, in a fresh copy of the baseline. */
async function accept(stream: StreamSource, options: Partial<Pick<ReceiveOptions, 'flags' | 'env'>> = {}): Promise<Published> {
  const dir = await corpus.freshUpdatesDir();
  const before = await captureRepoState(dir);
  const result = await receive({ updatesDir: dir, keyrings: corpus.trustedKeyrings, stdin: stream, ...options });
  const reply = parseReply(result.stdout);
  if (typeof reply === 'string') throw new Error(reply);
  if (reply.status !== 'accepted') throw new Error(`rejected: ${JSON.stringify(reply.error)}`);
  const after = await captureRepoState(dir);
  expect(await leftovers(dir)).toEqual([]);
  const modes: Record<string, string> = {};
  for (const [path, entry] of Object.entries(after.tree)) if (path.endsWith('.rpm')) modes[path] = entry.split(' ').slice(0, 2).join(' ');
  return {
    exitCode: result.exitCode,
    files: (reply.packages as { file: string }[]).map((p) => p.file),
    modes,
    unchanged: JSON.stringify(before) === JSON.stringify(after),
  };
}

describe.concurrent('controls: spellings the spec allows are accepted', () => {
  it('accepts a regular file written with the pre-POSIX NUL type flag', async () => {
    const run = await accept(oneGood({ header: { typeflag: '\0' } }));
    expect(run.exitCode).toBe(0);
    expect(run.files).toEqual([NAME]);
  });

  it('accepts checksums of eight digits without terminator and of seven digits with a space', async () => {
    const stream = archive([
      memberWithChecksum(v2[0]!.name, v2[0]!.bytes, (s) => octalSum(s, 8)),
      memberWithChecksum(v2[1]!.name, v2[1]!.bytes, (s) => `${octalSum(s, 7)} `),
      memberWithChecksum(v2[2]!.name, v2[2]!.bytes, (s) => `${octalSum(s, 6)} \0`),
    ]);
    const run = await accept(stream);
    expect(run.exitCode).toBe(0);
    expect(run.files).toEqual(v2.map((p) => p.name));
  });

  it('accepts a twelve-digit size without terminator, a size padded with spaces and a mixed NUL/space terminator', async () => {
    const [a, b, c] = v2 as [typeof v2[0], typeof v2[0], typeof v2[0]];
    const stream = archive([
      member(a.name, a.bytes, { header: { size: a.bytes.length.toString(8).padStart(12, '0') } }),
      member(b.name, b.bytes, { header: { size: b.bytes.length.toString(8).padEnd(12, ' ') } }),
      member(c.name, c.bytes, { header: { size: `${c.bytes.length.toString(8)}\0 \0 ` } }),
    ]);
    const run = await accept(stream);
    expect(run.exitCode).toBe(0);
    expect(run.files).toEqual(v2.map((p) => p.name));
  });

  it('accepts mode 07777 and an eight-digit uid but publishes the file 0644 whatever the sender said', async () => {
    const run = await accept(oneGood({ header: { mode: '0007777\0', uid: '77777777', mtime: '777777777777', devmajor: '0000000\0', devminor: '00000000' } }));
    expect(run.exitCode).toBe(0);
    expect(run.modes[NAME]).toBe('file 644');
  });

  it('accepts a stream of only the end marker and publishes nothing new', async () => {
    const run = await accept(zeros(1024));
    expect(run.exitCode).toBe(0);
    expect(run.files).toEqual([]);
    expect(run.unchanged).toBe(true);
  });

  it('accepts 22 zero blocks (the end marker plus a full 10240-byte record) as an empty batch', async () => {
    const run = await accept(zeros(22 * 512));
    expect(run.exitCode).toBe(0);
    expect(run.unchanged).toBe(true);
  });

  it('accepts exactly --max-files members and exactly --max-bytes bytes', async () => {
    const run = await accept(archive([goodMembers()]), { flags: ['--max-files', '3', '--max-bytes', String(totalBytes())] });
    expect(run.exitCode).toBe(0);
    expect(run.files).toHaveLength(3);
  });

  it('accepts a member of exactly --max-bytes, and lets the flag win over a smaller UPDATES_MAX_BYTES', async () => {
    const run = await accept(oneGood(), { flags: ['--max-bytes', String(good.length)], env: { UPDATES_MAX_BYTES: String(good.length - 1) } });
    expect(run.exitCode).toBe(0);
  });

  it('accepts a good batch with exactly 10240 trailing zero bytes, handed over in uneven pieces of 1 to 700 bytes', async () => {
    const run = await accept(unevenChunks(concatBytes([archive([goodMembers()]), zeros(10240)])));
    expect(run.exitCode).toBe(0);
    expect(run.files).toEqual(v2.map((p) => p.name));
  });
});

/** Runs that must be refused before the lock: exit 1, a specific code, and DIR untouched (no record). */
async function refuseBeforeLock(env: Record<string, string>, flags: readonly string[], expected: string): Promise<string[]> {
  const dir = await corpus.freshUpdatesDir();
  const before = await captureRepoState(dir);
  const record = await readFile(join(dir, 'result.json'));
  const result = await receive({ updatesDir: dir, keyrings: corpus.trustedKeyrings, stdin: oneGood(), flags, env });
  const { problems } = judgeRejection(result, [expected]);
  if (JSON.stringify(await captureRepoState(dir)) !== JSON.stringify(before)) problems.push('repository changed');
  if (!Buffer.from(record).equals(await readFile(join(dir, 'result.json')))) problems.push('result.json was rewritten');
  problems.push(...(await leftovers(dir)).map((l) => `left behind: ${l}`));
  return problems;
}

describe.concurrent('the service call itself: caller, version argument, configuration', () => {
  const UPDATEVM = ['--updatevm', 'sys-firewall'];
  const calls: [string, Record<string, string>, readonly string[], string][] = [
    ['a caller other than the UpdateVM', { QREXEC_REMOTE_DOMAIN: 'sys-net', QREXEC_SERVICE_ARGUMENT: 'v1' }, UPDATEVM, 'SENDER_NOT_ALLOWED'],
    ['a caller whose name differs only in case', { QREXEC_REMOTE_DOMAIN: 'SYS-FIREWALL', QREXEC_SERVICE_ARGUMENT: 'v1' }, UPDATEVM, 'SENDER_NOT_ALLOWED'],
    ['a caller name holding an escape sequence', { QREXEC_REMOTE_DOMAIN: '\u001b[2Jsys-firewall', QREXEC_SERVICE_ARGUMENT: 'v1' }, UPDATEVM, 'SENDER_NOT_ALLOWED'],
    ['a qrexec call when no UpdateVM is configured', { QREXEC_REMOTE_DOMAIN: 'sys-firewall', QREXEC_SERVICE_ARGUMENT: 'v1' }, [], 'UPDATEVM_NOT_CONFIGURED'],
    ['a call without the version argument', { QREXEC_REMOTE_DOMAIN: 'sys-firewall' }, UPDATEVM, 'VERSION_UNSUPPORTED'],
    ['a call for protocol v2', { QREXEC_REMOTE_DOMAIN: 'sys-firewall', QREXEC_SERVICE_ARGUMENT: 'v2' }, UPDATEVM, 'VERSION_UNSUPPORTED'],
  ];
  for (const [what, env, flags, code] of calls) {
    it(`refuses ${what} before reading, leaving result.json as it was`, async () => {
      expect(await refuseBeforeLock(env, flags, code)).toEqual([]);
    });
  }

  it('refuses a second receiver while the first holds the lock, and the first still publishes', async () => {
    const dir = await corpus.freshUpdatesDir();
    const whole = oneGood();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    // The first sender sends part of the stream, waits until the second run is over, then the rest.
    async function* first(): AsyncIterable<Uint8Array> {
      yield whole.slice(0, 1000);
      await released;
      yield whole.slice(1000);
    }
    const running = receive({ updatesDir: dir, keyrings: corpus.trustedKeyrings, stdin: () => first(), timeout: 60 });
    // The lock exists once the first run has taken it; wait for that instead of sleeping blindly.
    for (let i = 0; i < 600 && !(await leftovers(dir)).some((n) => n.startsWith('staging.')); i += 1) await new Promise((r) => setTimeout(r, 50));
    const record = await readFile(join(dir, 'result.json'));
    const second = await receive({ updatesDir: dir, keyrings: corpus.trustedKeyrings, stdin: archive([member(v2[1]!.name, v2[1]!.bytes)]) });
    const judged = judgeRejection(second, ['RECEIVER_BUSY']);
    const recordAfterSecond = await readFile(join(dir, 'result.json'));
    release();
    const firstResult = await running;
    expect(judged.problems).toEqual([]);
    expect(Buffer.from(recordAfterSecond).equals(record)).toBe(true);
    expect(firstResult.exitCode).toBe(0);
  });
});

describe.concurrent('republishing: append-only per file name', () => {
  /** A fresh dir with the v2 packages published on top of the baseline. */
  async function withV2(): Promise<string> {
    const dir = await corpus.freshUpdatesDir();
    const result = await receive({ updatesDir: dir, keyrings: corpus.trustedKeyrings, stdin: archive([goodMembers()]) });
    if (result.exitCode !== 0) throw new Error('could not publish v2');
    return dir;
  }

  it('rejects another build of a published NEVRA (same name, other bytes) after a new package, publishing neither', async () => {
    const dir = await withV2();
    const before = await captureRepoState(dir);
    const extra = await fixtureBytes('extra');
    const other = await fixtureBytes('rpmv3');
    expect(other.name).toBe(NAME);
    const result = await receive({ updatesDir: dir, keyrings: corpus.trustedKeyrings, stdin: archive([member(extra.name, extra.bytes), member(other.name, other.bytes)]) });
    expect(judgeRejection(result, ['RPM_CONFLICTS_PUBLISHED']).problems).toEqual([]);
    expect(await captureRepoState(dir)).toEqual(before);
    expect(await leftovers(dir)).toEqual([]);
  });

  it('accepts a resend of published packages with the same bytes and keeps the generation', async () => {
    const dir = await withV2();
    const before = await captureRepoState(dir);
    const result = await receive({ updatesDir: dir, keyrings: corpus.trustedKeyrings, stdin: archive([goodMembers()]) });
    expect(result.exitCode).toBe(0);
    expect(await captureRepoState(dir)).toEqual(before);
  });
});

describe.concurrent('what the receiver writes back stays printable', () => {
  const hostile: [string, Uint8Array][] = [
    ['100 C1 CSI bytes', new Uint8Array(100).fill(0x9b)],
    ['25 Unicode tag characters', new TextEncoder().encode('\u{e0041}'.repeat(25))],
  ];
  for (const [what, name] of hostile) {
    it(`rejects a name of ${what}, with the reply's member at most 300 characters and result.json free of raw controls`, async () => {
      const dir = await corpus.freshUpdatesDir();
      const result = await receive({ updatesDir: dir, keyrings: corpus.trustedKeyrings, stdin: archive([member(name, good)]) });
      const judged = judgeRejection(result, [...BAD_NAME, ...CHECKSUM]);
      expect(judged.problems).toEqual([]);
      const reply = parseReply(result.stdout);
      expect(typeof reply).not.toBe('string');
      if (typeof reply !== 'string') expect(reply.error?.member?.length ?? 0).toBeLessThanOrEqual(300);
      const record = await readFile(join(dir, 'result.json'));
      expect(rawControlProblems('result.json', record)).toEqual([]);
      // JSON escapes C0 controls but not C1 or bidi ones; the parsed text must be clean too.
      const parsed = JSON.parse(record.toString('utf8')) as { rejection?: { member?: string; message?: string } };
      expect(rawControlProblems('rejection.member', new TextEncoder().encode(parsed.rejection?.member ?? ''))).toEqual([]);
    });
  }
});
