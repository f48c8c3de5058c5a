import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archive, concatBytes, member, openCorpus, toBytes, type Corpus } from '../src/index.ts';
import { bytesOf, type StreamCase } from './support.ts';

let corpus: Corpus;
let good: Uint8Array;
let goodName: string;

beforeAll(async () => {
  corpus = await openCorpus('paths');
  const pkg = corpus.fx.packages.v2[0];
  good = await bytesOf(pkg);
  goodName = pkg!.fileName;
});
afterAll(async () => corpus.close());

/** A real signed package under a hostile name: only the name can be the reason to refuse it. */
function named(name: string | Uint8Array): () => Uint8Array {
  return () => archive([member(name, good)]);
}

const BAD_NAME = ['TAR_BAD_NAME'];

const cases: StreamCase[] = [
  { title: 'rejects a parent-directory escape ../x.rpm', stream: named('../x.rpm'), expected: BAD_NAME },
  { title: 'rejects an absolute path /abs/x.rpm', stream: named('/abs/x.rpm'), expected: BAD_NAME },
  { title: 'rejects repeated leading slashes ////abs.rpm', stream: named('////abs.rpm'), expected: BAD_NAME },
  { title: 'rejects a path that climbs out through a subdirectory a/../../x.rpm', stream: named('a/../../x.rpm'), expected: BAD_NAME },
  { title: 'rejects a plain subdirectory path sub/x.rpm', stream: named('sub/x.rpm'), expected: BAD_NAME },
  { title: 'rejects a dot-slash prefix ./x.rpm', stream: named('./x.rpm'), expected: BAD_NAME },
  { title: 'rejects a trailing slash x.rpm/', stream: named('x.rpm/'), expected: BAD_NAME },
  { title: 'rejects backslash separators ..\\..\\x.rpm', stream: named('..\\..\\x.rpm'), expected: BAD_NAME },
  { title: 'rejects a Windows drive-relative name C:x.rpm', stream: named('C:x.rpm'), expected: BAD_NAME },
  { title: 'rejects a Windows drive with parent C:../x.rpm', stream: named('C:../x.rpm'), expected: BAD_NAME },
  { title: 'rejects a UNC-like name \\\\host\\x.rpm', stream: named('\\\\host\\x.rpm'), expected: BAD_NAME },
  { title: 'rejects a hidden dot-file name .x.rpm', stream: named('.x.rpm'), expected: BAD_NAME },
  { title: 'rejects a name that is only the suffix .rpm', stream: named('.rpm'), expected: BAD_NAME },
  { title: 'rejects a name starting with a dash (option injection) -rf.rpm', stream: named('-rf.rpm'), expected: BAD_NAME },
  { title: 'rejects the name ..', stream: named('..'), expected: BAD_NAME },
  { title: 'rejects a name without the .rpm suffix', stream: named('dom0-hello-2.0-1.noarch'), expected: BAD_NAME },
  { title: 'rejects an upper-case suffix x.RPM', stream: named('x.RPM'), expected: BAD_NAME },
  { title: 'rejects a trailing newline after the suffix', stream: named('x.rpm\n'), expected: BAD_NAME },
  { title: 'rejects a trailing space after the suffix', stream: named('x.rpm '), expected: BAD_NAME },
  { title: 'rejects a space inside the name', stream: named('a b.rpm'), expected: BAD_NAME },
  { title: 'rejects a percent-encoded traversal %2e%2e%2fx.rpm', stream: named('%2e%2e%2fx.rpm'), expected: BAD_NAME },
  { title: 'rejects a shell metacharacter name $(reboot).rpm', stream: named('$(reboot).rpm'), expected: BAD_NAME },
  { title: 'rejects a glob name *.rpm', stream: named('*.rpm'), expected: BAD_NAME },
  { title: 'rejects a terminal escape sequence in the name and never prints it raw', stream: named('\u001b]0;pwned\u0007\u001b[2J.rpm'), expected: BAD_NAME },
  { title: 'rejects a CSI colour sequence inside an otherwise valid name', stream: named('x\u001b[31mred.rpm'), expected: BAD_NAME },
  { title: 'rejects a DEL byte in the name', stream: named('x\u007f.rpm'), expected: BAD_NAME },
  { title: 'rejects a raw C1 control byte 0x9b (8-bit CSI) in the name', stream: named(new Uint8Array([0x78, 0x9b, 0x32, 0x4a, 0x2e, 0x72, 0x70, 0x6d])), expected: BAD_NAME },
  { title: 'rejects invalid UTF-8 bytes in the name', stream: named(new Uint8Array([0xff, 0xfe, 0x2e, 0x72, 0x70, 0x6d])), expected: BAD_NAME },
  { title: 'rejects an overlong UTF-8 encoding of a slash', stream: named(new Uint8Array([0x61, 0xc0, 0xaf, 0x78, 0x2e, 0x72, 0x70, 0x6d])), expected: BAD_NAME },
  { title: 'rejects a Cyrillic look-alike of an ASCII package name', stream: named('dom0-h\u0435llo-2.0-1.noarch.rpm'), expected: BAD_NAME },
  { title: 'rejects a fullwidth full stop before the suffix', stream: named('x\uff0erpm'), expected: BAD_NAME },
  { title: 'rejects a division-slash look-alike of a path', stream: named('..\u2215x.rpm'), expected: BAD_NAME },
  { title: 'rejects a right-to-left override that disguises the suffix', stream: named('x\u202emp\u0072.rpm'), expected: BAD_NAME },
  { title: 'rejects a zero-width space inside the name', stream: named('dom0\u200b-hello.rpm'), expected: BAD_NAME },
  { title: 'rejects a combining accent (NFD) in the name', stream: named('cafe\u0301.rpm'), expected: BAD_NAME },
  { title: 'rejects a NUL inside the name field followed by a hidden suffix', stream: named('x.rpm\0../../etc/passwd'), expected: BAD_NAME },
  { title: 'rejects a valid name with garbage after its NUL terminator', stream: named(concatBytes([toBytes('x.rpm'), new Uint8Array([0, 0x41])])), expected: BAD_NAME },
  { title: 'rejects a header whose name field is empty', stream: named(''), expected: BAD_NAME },
  { title: 'rejects a name that fills the field with a path of dot-dot segments', stream: named('../'.repeat(31) + 'x.rpm'), expected: BAD_NAME },
  {
    title: 'rejects a harmless name with a traversal in the ustar prefix field',
    stream: () => archive([member('x.rpm', good, { header: { prefix: '../../../etc' } })]),
    expected: BAD_NAME,
  },
  {
    title: 'rejects a long name split between prefix and name as GNU tar would write it',
    stream: () => archive([member(`${'b'.repeat(40)}.rpm`, good, { header: { prefix: 'a'.repeat(120) } })]),
    expected: BAD_NAME,
  },
  {
    title: 'rejects a 101-byte name whose last byte spills into the mode field',
    stream: () => {
      const name = `${'a'.repeat(96)}.rpm`;
      return archive([member(name, good, { header: { mode: 'm000644\0' } })]);
    },
    expected: ['TAR_BAD_NUMBER', 'TAR_BAD_NAME'],
  },
  {
    title: 'rejects the same name twice (the second would overwrite the first)',
    stream: () => archive([member(goodName, good), member(goodName, good)]),
    expected: ['TAR_DUPLICATE_NAME'],
  },
  {
    title: 'rejects two names that differ only in letter case',
    stream: () => archive([member(goodName, good), member(goodName.toUpperCase().replace('.RPM', '.rpm'), good)]),
    expected: ['TAR_DUPLICATE_NAME'],
  },
  {
    title: 'rejects a duplicate whose second copy is different bytes (last-writer-wins confusion)',
    stream: () => {
      const evil = good.slice();
      evil[evil.length - 1] = (evil[evil.length - 1] ?? 0) ^ 1;
      return archive([member(goodName, good), member(goodName, evil)]);
    },
    expected: ['TAR_DUPLICATE_NAME'],
  },
];

describe.concurrent('hostile member names against the real receiver', () => {
  for (const c of cases) {
    it(c.title, async () => {
      const report = await corpus.reject(await c.stream(), c.expected, c.flags === undefined ? {} : { flags: c.flags });
      expect(report.problems).toEqual([]);
      // Whatever the name held, nothing terminal-active reaches stderr (checked in problems) and the
      // rejection names the stream rule, not a later package check.
      expect(c.expected).toContain(report.code);
    });
  }
});
