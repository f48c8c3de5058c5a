/**
 * Stream variants of the threat catalogue that the other tar-*.test.ts files spell only once or
 * not at all: the remaining path-escape spellings, hard links that write through, pax and GNU
 * extension headers in their other forms, size fields that would make a lax decoder hang (each
 * sent with a sender that then stalls, so only a check at the header can answer in time), memory
 * bounds against an endless extension body, the default byte limit, and more bad name bytes.
 * Every case must be refused by the real receiver with the stable code and leave the published
 * repository exactly as it was (see openCorpus / judgeRejection).
 */
import { statfs } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archive, base256, concatBytes, endless, gnuLongMember, member, openCorpus, paxHeader, paxRecord, stallAfter, ustarHeader, zeros,
  type Corpus, type StreamSource,
} from '../src/index.ts';
import { bytesOf } from './support.ts';

let corpus: Corpus;
let good: Uint8Array;
const NAME = 'dom0-hello-2.0-1.noarch.rpm';

beforeAll(async () => {
  corpus = await openCorpus('gaps-tar');
  const pkg = corpus.fx.packages.v2[0];
  if (pkg?.fileName !== NAME) throw new Error('fixture set changed');
  good = await bytesOf(pkg);
});
afterAll(async () => corpus.close());

const GIB = 1024 ** 3;
const LINK = ['TAR_LINK_MEMBER'];
const UNSUPPORTED = ['TAR_UNSUPPORTED_TYPE'];
const BAD_NAME = ['TAR_BAD_NAME'];
const NUMBER = ['TAR_BAD_NUMBER'];

function headerOnly(name: string, typeflag: string, linkname = ''): Uint8Array {
  return ustarHeader({ name, size: 0, typeflag, linkname });
}
/** The good package under a hostile name. */
function named(name: string | Uint8Array): () => Uint8Array {
  return () => archive([member(name, good)]);
}

interface GapCase {
  title: string;
  stream: () => StreamSource;
  expected: readonly string[];
  /** For senders that stall: the receiver's own deadline is long, so only a prompt refusal passes. */
  stalls?: boolean;
}

const paths: GapCase[] = [
  { title: 'rejects a Windows drive-absolute name with a backslash C:\\x.rpm', stream: named('C:\\x.rpm'), expected: BAD_NAME },
  { title: 'rejects a Windows drive-absolute name with a slash C:/x.rpm', stream: named('C:/x.rpm'), expected: BAD_NAME },
  { title: 'rejects the backslash form of a climb through a subdirectory a\\..\\..\\x.rpm', stream: named('a\\..\\..\\x.rpm'), expected: BAD_NAME },
  { title: 'rejects a deep path of 47 directories that fills the name field', stream: named(`${'a/'.repeat(47)}x.rpm`), expected: BAD_NAME },
];

const links: GapCase[] = [
  {
    title: 'rejects a hard link followed by a file of the same name that would write through it',
    stream: () => archive([headerOnly('x.rpm', '1', '/etc/shadow'), member('x.rpm', good)]),
    expected: LINK,
  },
  { title: 'rejects a hard link whose target climbs out ../../etc/shadow', stream: () => archive([headerOnly('x.rpm', '1', '../../etc/shadow')]), expected: LINK },
  { title: 'rejects a symbolic link that carries a body', stream: () => archive([member('x.rpm', good, { header: { typeflag: '2', linkname: '/etc/shadow' } })]), expected: LINK },
  {
    title: 'rejects a chain of symbolic links (a.rpm -> b.rpm -> /etc/shadow) followed by a file written through the chain',
    stream: () => archive([headerOnly('a.rpm', '2', 'b.rpm'), headerOnly('b.rpm', '2', '/etc/shadow'), member('a.rpm', good)]),
    expected: LINK,
  },
  {
    title: 'rejects a symlink followed by a file whose name differs only in case (write-through on a case-insensitive file system)',
    stream: () => archive([headerOnly('X.rpm', '2', '/etc/shadow'), member('x.rpm', good)]),
    expected: LINK,
  },
];

const extensions: GapCase[] = [
  {
    title: 'rejects a pax global header that sets size for every later member',
    stream: () => archive([paxHeader([paxRecord('size', '0')], { global: true }), member(NAME, good)]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax global header that sets a link path',
    stream: () => archive([paxHeader([paxRecord('linkpath', '/etc/shadow')], { global: true }), member(NAME, good)]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax size smaller than the ustar size (the rest of the body would be read as headers)',
    stream: () => archive([paxHeader([paxRecord('size', '512')]), member(NAME, concatBytes([good, archive([member('smuggled.rpm', good)])]))]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax size applied to a following GNU long-link (K) header',
    stream: () => archive([paxHeader([paxRecord('size', '4096')]), gnuLongMember('K', '/etc/shadow', { ustarMagic: true }), headerOnly('x.rpm', '2', 'y')]),
    expected: UNSUPPORTED,
  },
  { title: 'rejects a header-only GNU long-name member (L, size 0)', stream: () => archive([headerOnly('x.rpm', 'L')]), expected: UNSUPPORTED },
];

const MIB200 = 200 * 1024 * 1024;
const junk = new Uint8Array(65536).fill(0x41);

/** Memory: the body of an extension header must never be read, however much the sender offers. */
const memory: GapCase[] = [
  {
    title: 'rejects a pax header of 200 MiB whose body keeps coming, without reading it',
    stream: () => endless(ustarHeader({ name: 'PaxHeaders/x', size: MIB200, typeflag: 'x' }), junk),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax global header of 200 MiB whose body keeps coming, without reading it',
    stream: () => endless(ustarHeader({ name: 'pax_global_header', size: MIB200, typeflag: 'g' }), junk),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a GNU long-name header of 200 MiB whose body keeps coming, without reading it',
    stream: () => endless(ustarHeader({ name: '././@LongLink', size: MIB200, typeflag: 'L' }), junk),
    expected: UNSUPPORTED,
  },
];

/** Size fields a lax decoder turns into -512, NaN or a huge number: refused at the header, the sender then stalls. */
const sizes: GapCase[] = [
  { title: 'rejects a negative base-256 size of -512 at the header although the sender then stalls', stream: () => stallAfter(ustarHeader({ name: 'x.rpm', size: base256(-512n) })), expected: NUMBER, stalls: true },
  { title: 'rejects the size 00000000012x at the header although the sender then stalls', stream: () => stallAfter(ustarHeader({ name: 'x.rpm', size: '00000000012x' })), expected: NUMBER, stalls: true },
  { title: 'rejects an all-space size (NaN to a lax parser) at the header although the sender then stalls', stream: () => stallAfter(ustarHeader({ name: 'x.rpm', size: ' '.repeat(12) })), expected: NUMBER, stalls: true },
  { title: 'rejects a base-256 size far beyond any limit (2^94) at the header although the sender then stalls', stream: () => stallAfter(ustarHeader({ name: 'x.rpm', size: base256(1n << 94n) })), expected: NUMBER, stalls: true },
  { title: 'rejects a base-256 size of all 0xff bytes (-1) at the header although the sender then stalls', stream: () => stallAfter(ustarHeader({ name: 'x.rpm', size: new Uint8Array(12).fill(0xff) })), expected: NUMBER, stalls: true },
  {
    title: 'rejects one byte over the default 4 GiB limit at the header although the sender then stalls',
    stream: () => stallAfter(ustarHeader({ name: 'x.rpm', size: `${(4 * GIB + 1).toString(8)}\0` })),
    expected: ['TAR_MEMBER_TOO_LARGE'],
    stalls: true,
  },
];

const trailing: GapCase[] = [
  { title: 'rejects a non-zero byte in the middle of the allowed record padding after the end marker', stream: () => { const t = zeros(10240); t[5000] = 1; return concatBytes([archive([member(NAME, good)]), t]); }, expected: ['TAR_TRAILING_DATA'] },
  { title: 'rejects endless non-zero junk after the end marker without reading it all', stream: () => endless(archive([member(NAME, good)]), junk), expected: ['TAR_TRAILING_DATA'] },
];

const names: GapCase[] = [
  ...[';', '`'].map((ch) => ({
    title: `rejects the shell metacharacter ${JSON.stringify(ch)} in a name`,
    stream: named(`x${ch}y.rpm`),
    expected: BAD_NAME,
  })),
  { title: 'rejects a UTF-8 encoded surrogate (ED A0 80) in the name', stream: named(new Uint8Array([0x78, 0xed, 0xa0, 0x80, 0x2e, 0x72, 0x70, 0x6d])), expected: BAD_NAME },
  { title: 'rejects a backspace that would hide the suffix on a terminal', stream: named('evil.sh\b\b\b\brpm.rpm'), expected: BAD_NAME },
];

function run(label: string, cases: GapCase[]): void {
  describe.concurrent(label, () => {
    for (const c of cases) {
      it(c.title, async () => {
        const options = c.stalls === true ? { timeout: 60, guardMs: 50_000 } : {};
        const report = await corpus.reject(c.stream(), c.expected, options);
        expect(report.problems).toEqual([]);
        expect(c.expected).toContain(report.code);
      });
    }
  });
}

run('path escapes in their remaining spellings', paths);
run('links that write through, in their other forms', links);
run('pax and GNU extension headers in their other forms', extensions);
run('memory: extension bodies are never read', memory);
run('size fields validated at the header, before a body is awaited', sizes);
run('data after the end marker in other positions', trailing);
run('more bytes outside the name rule', names);

describe('the default byte limit', () => {
  it('lets a header of exactly the default 4 GiB through to its body, where the stalled sender times out', async () => {
    const fs = await statfs(corpus.scratch);
    // The default is the smaller of 4 GiB and 90% of the free space beyond a reserve: on a nearly full disk the header itself is refused.
    const reserve = Math.min(GIB, Math.floor(fs.blocks * fs.bsize * 0.05));
    const roomy = Math.floor(Math.max(0, fs.bavail * fs.bsize - reserve) * 0.9) >= 4 * GIB;
    const stream = stallAfter(ustarHeader({ name: 'x.rpm', size: `${(4 * GIB).toString(8)}\0` }));
    const expected = roomy ? ['TAR_TIMEOUT'] : ['TAR_MEMBER_TOO_LARGE'];
    const report = await corpus.reject(stream, expected, { flags: ['--idle-timeout', '1'], timeout: 5 });
    expect(report.problems).toEqual([]);
  });
});
