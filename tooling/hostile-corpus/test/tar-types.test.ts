import { mkdir, symlink, link, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archive, concatBytes, gnuLongMember, gnuTar, member, openCorpus, paxHeader, paxRecord, pythonTar, receive,
  ustarHeader, zeros, type Corpus,
} from '../src/index.ts';
import { runProcess } from '../src/harness/process.ts';
import { bytesOf, type StreamCase } from './support.ts';

let corpus: Corpus;
let good: Uint8Array;
/** The fixture's file name, spelled out so case tables can use it before the fixtures load. */
const goodName = 'dom0-hello-2.0-1.noarch.rpm';
/** A directory with real files for GNU tar and Python to archive. */
let src: string;
/** A symlink under the package's own file name, to the package in src (for GNU tar -h). */
let links: string;

beforeAll(async () => {
  corpus = await openCorpus('types');
  const pkg = corpus.fx.packages.v2[0]!;
  good = await bytesOf(pkg);
  if (pkg.fileName !== goodName) throw new Error(`fixture renamed: ${pkg.fileName}`);
  src = join(corpus.scratch, 'src');
  await mkdir(src);
  await writeFile(join(src, goodName), good);
  await symlink('/etc/shadow', join(src, 'shadow.rpm'));
  await symlink(goodName, join(src, 'alias.rpm'));
  links = join(corpus.scratch, 'links');
  await mkdir(links);
  await symlink(join(src, goodName), join(links, goodName));
  await link(join(src, goodName), join(src, 'hardlink.rpm'));
  await mkdir(join(src, 'dir.rpm'));
  const fifo = await runProcess('mkfifo', [join(src, 'fifo.rpm')]);
  if (fifo.exitCode !== 0) throw new Error('mkfifo failed');
  // A sparse file: a hole GNU tar records with --sparse.
  const sparse = await runProcess('truncate', ['-s', '4M', join(src, 'sparse.rpm')]);
  if (sparse.exitCode !== 0) throw new Error('truncate failed');
  await writeFile(join(src, `${'l'.repeat(120)}.rpm`), good);
  await mkdir(join(src, 'd'.repeat(80)));
  await writeFile(join(src, 'd'.repeat(80), `${'f'.repeat(40)}.rpm`), good);
});
afterAll(async () => corpus.close());

const LINK = ['TAR_LINK_MEMBER'];
const UNSUPPORTED = ['TAR_UNSUPPORTED_TYPE'];
const MAGIC = ['TAR_BAD_MAGIC'];

function typed(flag: string | Uint8Array, linkname = ''): () => Uint8Array {
  return () => archive([member('x.rpm', good, { header: { typeflag: flag, linkname } })]);
}

/** A header-only member (size 0) of the given type, the way tar writes links and directories. */
function headerOnly(name: string, flag: string, linkname = ''): Uint8Array {
  return ustarHeader({ name, size: 0, typeflag: flag, linkname });
}

const ownWriter: StreamCase[] = [
  { title: 'rejects a hard link member (type 1)', stream: () => archive([headerOnly('x.rpm', '1', goodName)]), expected: LINK },
  { title: 'rejects a symbolic link member (type 2) to /etc/shadow', stream: () => archive([headerOnly('x.rpm', '2', '/etc/shadow')]), expected: LINK },
  {
    title: 'rejects a symlink followed by a file of the same name that would write through it',
    stream: () => archive([headerOnly('x.rpm', '2', '../../../etc/cron.d/evil'), member('x.rpm', good)]),
    expected: LINK,
  },
  {
    title: 'rejects a chain of links ending in a file, and publishes not even the good first member',
    stream: () => archive([member(goodName, good), headerOnly('a.rpm', '1', goodName), headerOnly('b.rpm', '2', 'a.rpm')]),
    expected: LINK,
  },
  { title: 'rejects a hard link that carries a body as well', stream: typed('1', goodName), expected: LINK },
  { title: 'rejects a symlink pointing into the published repository', stream: () => archive([headerOnly('x.rpm', '2', '../repo/dom0-hello-1.0-1.noarch.rpm')]), expected: LINK },
  { title: 'rejects a regular file (type 0) that carries a link name', stream: typed('0', '/etc/passwd'), expected: LINK },
  { title: 'rejects an old-style regular file (type NUL) that carries a link name', stream: typed('\0', 'target'), expected: LINK },
  { title: 'rejects a character device member', stream: () => archive([headerOnly('x.rpm', '3')]), expected: UNSUPPORTED },
  { title: 'rejects a block device member', stream: () => archive([headerOnly('x.rpm', '4')]), expected: UNSUPPORTED },
  { title: 'rejects a directory member named like a package', stream: () => archive([headerOnly('x.rpm', '5')]), expected: UNSUPPORTED },
  { title: 'rejects a FIFO member', stream: () => archive([headerOnly('x.rpm', '6')]), expected: UNSUPPORTED },
  { title: 'rejects a contiguous-file member (type 7)', stream: typed('7'), expected: UNSUPPORTED },
  { title: 'rejects a GNU sparse member (type S)', stream: typed('S'), expected: UNSUPPORTED },
  { title: 'rejects a GNU volume label (type V)', stream: typed('V'), expected: UNSUPPORTED },
  { title: 'rejects a GNU multi-volume continuation (type M)', stream: typed('M'), expected: UNSUPPORTED },
  { title: 'rejects a GNU old long-name member (type N)', stream: typed('N'), expected: UNSUPPORTED },
  { title: 'rejects a GNU dump directory (type D)', stream: typed('D'), expected: UNSUPPORTED },
  { title: 'rejects a Solaris extended header (type X)', stream: typed('X'), expected: UNSUPPORTED },
  { title: 'rejects a Solaris ACL member (type A)', stream: typed('A'), expected: UNSUPPORTED },
  { title: 'rejects a star inode-metadata member (type I)', stream: typed('I'), expected: UNSUPPORTED },
  { title: 'rejects an unknown letter type flag (Z)', stream: typed('Z'), expected: UNSUPPORTED },
  { title: 'rejects an unknown digit type flag (8)', stream: typed('8'), expected: UNSUPPORTED },
  { title: 'rejects a space as type flag', stream: typed(' '), expected: UNSUPPORTED },
  { title: 'rejects a high-bit type flag byte without printing it raw', stream: typed(new Uint8Array([0x9b])), expected: [...UNSUPPORTED, 'TAR_BAD_CHECKSUM'] },
  { title: 'rejects an escape byte as type flag without printing it raw', stream: typed(new Uint8Array([0x1b])), expected: UNSUPPORTED },
  {
    title: 'rejects a pax header that overrides the next member path with a traversal',
    stream: () => archive([paxHeader([paxRecord('path', '../../../etc/cron.d/x')]), member('x.rpm', good)]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax header that overrides the link path',
    stream: () => archive([paxHeader([paxRecord('linkpath', '/etc/shadow')]), member('x.rpm', good)]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax size override over a ustar size of 0 (TARmageddon smuggling)',
    stream: () => {
      const smuggled = archive([member('smuggled.rpm', good)]);
      return archive([
        paxHeader([paxRecord('size', String(smuggled.length))]),
        concatBytes([ustarHeader({ name: 'x.rpm', size: 0 }), smuggled]),
      ]);
    },
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax global header',
    stream: () => archive([paxHeader([paxRecord('path', 'evil.rpm')], { global: true }), member('x.rpm', good)]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax path holding a NUL byte',
    stream: () => archive([paxHeader([paxRecord('path', 'x.rpm\0../../etc/passwd')]), member('x.rpm', good)]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects an all-digit pax path',
    stream: () => archive([paxHeader([paxRecord('path', '1234567890')]), member('x.rpm', good)]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax header that claims 200 MiB at its header, without waiting for the body',
    stream: () => concatBytes([ustarHeader({ name: 'PaxHeaders/x', size: 200 * 1024 * 1024, typeflag: 'x' }), zeros(512)]),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a pax size applied to a following GNU long-name header',
    stream: () => archive([paxHeader([paxRecord('size', '4096')]), gnuLongMember('L', '../../x.rpm', { ustarMagic: true }), member('x.rpm', good)]),
    expected: UNSUPPORTED,
  },
  { title: 'rejects a GNU long-name member (L) with ustar magic', stream: () => archive([gnuLongMember('L', `${'a'.repeat(200)}.rpm`, { ustarMagic: true }), member('x.rpm', good)]), expected: UNSUPPORTED },
  { title: 'rejects a GNU long-link member (K) with ustar magic', stream: () => archive([gnuLongMember('K', '/etc/shadow', { ustarMagic: true }), headerOnly('x.rpm', '2', 'y')]), expected: UNSUPPORTED },
  { title: 'rejects a GNU long-name member (L) with GNU magic', stream: () => archive([gnuLongMember('L', '../../x.rpm'), member('x.rpm', good)]), expected: [...MAGIC, ...UNSUPPORTED] },
];

interface ToolCase {
  title: string;
  make: () => Promise<Uint8Array>;
  expected: readonly string[];
}

const realTools: ToolCase[] = [
  { title: 'rejects a symlink archived by GNU tar --format=ustar', make: () => gnuTar(src, ['--format=ustar', 'shadow.rpm']), expected: LINK },
  { title: 'rejects the hard link GNU tar writes for a second name of one inode', make: () => gnuTar(src, ['--format=ustar', goodName, 'hardlink.rpm']), expected: LINK },
  { title: 'rejects a directory archived by GNU tar --no-recursion', make: () => gnuTar(src, ['--format=ustar', '--no-recursion', 'dir.rpm']), expected: UNSUPPORTED },
  { title: 'rejects a FIFO archived by GNU tar', make: () => gnuTar(src, ['--format=ustar', 'fifo.rpm']), expected: UNSUPPORTED },
  {
    title: 'rejects a character device archived by GNU tar (/dev/null renamed)',
    make: () => gnuTar('/dev', ['--format=ustar', '--transform', 's,^null$,null.rpm,', 'null']),
    expected: UNSUPPORTED,
  },
  { title: 'rejects GNU tar --format=gnu output (GNU magic)', make: () => gnuTar(src, ['--format=gnu', goodName]), expected: MAGIC },
  { title: 'rejects GNU tar --format=oldgnu output', make: () => gnuTar(src, ['--format=oldgnu', goodName]), expected: MAGIC },
  { title: 'rejects GNU tar --format=v7 output (no magic)', make: () => gnuTar(src, ['--format=v7', goodName]), expected: MAGIC },
  { title: 'rejects GNU tar --format=pax output (an extended header first)', make: () => gnuTar(src, ['--format=pax', goodName]), expected: UNSUPPORTED },
  { title: 'rejects a sparse file from GNU tar --format=gnu --sparse', make: () => gnuTar(src, ['--format=gnu', '--sparse', 'sparse.rpm']), expected: MAGIC },
  { title: 'rejects a sparse file from GNU tar --format=pax --sparse', make: () => gnuTar(src, ['--format=pax', '--sparse', 'sparse.rpm']), expected: UNSUPPORTED },
  { title: 'rejects a long name GNU tar --format=ustar splits into the prefix field', make: () => gnuTar(src, ['--format=ustar', `${'d'.repeat(80)}/${'f'.repeat(40)}.rpm`]), expected: ['TAR_BAD_NAME'] },
  { title: 'rejects a long name GNU tar --format=gnu writes as an L member', make: () => gnuTar(src, ['--format=gnu', `${'l'.repeat(120)}.rpm`]), expected: MAGIC },
  {
    title: 'rejects a traversal GNU tar writes with --transform',
    make: () => gnuTar(src, ['--format=ustar', '--transform', 's,^,../../,', goodName]),
    expected: ['TAR_BAD_NAME'],
  },
  {
    title: 'rejects an absolute path GNU tar writes with --absolute-names',
    make: () => gnuTar(src, ['--format=ustar', '--absolute-names', join(src, goodName)]),
    expected: ['TAR_BAD_NAME'],
  },
  {
    title: 'rejects a Python tarfile pax header that renames the member to a traversal',
    make: () => pythonTar(src, `t = tarfile.open(fileobj=out, mode='w|', format=tarfile.PAX_FORMAT)
ti = t.gettarinfo('${goodName}', arcname='x.rpm'); ti.pax_headers = {'path': '../../etc/x.rpm'}
t.addfile(ti, open('${goodName}', 'rb')); t.close()`),
    expected: UNSUPPORTED,
  },
  {
    title: 'rejects a Python tarfile GNU long name',
    make: () => pythonTar(src, `t = tarfile.open(fileobj=out, mode='w|', format=tarfile.GNU_FORMAT)
t.add('${'l'.repeat(120)}.rpm'); t.close()`),
    expected: MAGIC,
  },
  {
    title: 'rejects a Python tarfile ustar symlink member',
    make: () => pythonTar(src, `t = tarfile.open(fileobj=out, mode='w|', format=tarfile.USTAR_FORMAT)
ti = tarfile.TarInfo('x.rpm'); ti.type = tarfile.SYMTYPE; ti.linkname = '/etc/shadow'; t.addfile(ti); t.close()`),
    expected: LINK,
  },
  {
    title: 'rejects a Python tarfile ustar block device member',
    make: () => pythonTar(src, `t = tarfile.open(fileobj=out, mode='w|', format=tarfile.USTAR_FORMAT)
ti = tarfile.TarInfo('x.rpm'); ti.type = tarfile.BLKTYPE; ti.devmajor = 8; t.addfile(ti); t.close()`),
    expected: UNSUPPORTED,
  },
];

describe.concurrent('member types and extension headers from our own writer', () => {
  for (const c of ownWriter) {
    it(c.title, async () => {
      const report = await corpus.reject(await c.stream(), c.expected);
      expect(report.problems).toEqual([]);
    });
  }
});

describe.concurrent('member types written by GNU tar and Python tarfile', () => {
  for (const c of realTools) {
    it(c.title, async () => {
      const report = await corpus.reject(await c.make(), c.expected);
      expect(report.problems).toEqual([]);
    });
  }
});

describe('what the corpus must not reject (controls)', () => {
  it('accepts and publishes a plain GNU tar --format=ustar archive of a signed package, also via -h through a symlink', async () => {
    const dir = await corpus.freshUpdatesDir();
    const stream = await gnuTar(links, ['--format=ustar', '-h', goodName]);
    const result = await receive({ updatesDir: dir, keyrings: corpus.trustedKeyrings, stdin: stream });
    const reply = JSON.parse(new TextDecoder().decode(result.stdout)) as { status: string; packages: { file: string }[] };
    expect(result.exitCode).toBe(0);
    expect(reply.status).toBe('accepted');
    expect(reply.packages.map((p) => p.file)).toEqual([goodName]);
  });

  it('rejects the same signed package archived under a name other than its own (alias.rpm)', async () => {
    const dir = await corpus.freshUpdatesDir();
    const stream = await gnuTar(src, ['--format=ustar', '-h', 'alias.rpm']);
    const result = await receive({ updatesDir: dir, keyrings: corpus.trustedKeyrings, stdin: stream });
    const reply = JSON.parse(new TextDecoder().decode(result.stdout)) as { status: string; error?: { code: string; member?: string } };
    expect(result.exitCode).toBe(1);
    expect(reply.status).toBe('rejected');
    expect(reply.error).toMatchObject({ code: 'RPM_FILE_NAME_MISMATCH', member: 'alias.rpm' });
  });
});
