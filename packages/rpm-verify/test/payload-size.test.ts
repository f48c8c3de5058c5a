import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rpmkeysCheck } from '@dom0-updates/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRpmFile } from '../src/file.ts';
import { readUintColumn, stringArrayIncludes } from '../src/header/values.ts';
import { loadKeyring, type Keyring } from '../src/pgp/keyring.ts';
import { fixtures, rpmAccepts, type Loaded } from './support/fixtures.ts';
import { forgePackage, generateEdKey, withEntry, withoutEntry, type TestKey } from './support/forge.ts';
import { readEntries, str, u32, u64, type RawEntry } from './support/header-builder.ts';
import { rebuild, splitPackage, type PackageParts } from './support/package-bytes.ts';
import { rpm2cpioBytes, rpmbuild, signedCopy } from './support/rpmbuild.ts';
import { NOW, outcome, verifyBytes } from './support/verify-bytes.ts';

/** Every kind of entry rpm's archive writer lays out differently, with paths of every length mod 4. */
const KINDS_SPEC = `Name: filekinds
Version: 1
Release: 1
Summary: Files of every kind the payload archive treats differently
License: MIT
BuildArch: noarch
%description
Directories, empty files, symlinks, hard-link sets, a ghost, a config file and a UTF-8 name.
%install
d=%{buildroot}/usr/share/fk
mkdir -p $d/empty-dir $d/a/bb/ccc %{buildroot}/etc/fk
printf x > $d/1
printf xy > $d/22
printf xyz > $d/333
printf wxyz > $d/4444
printf vwxyz > $d/55555
: > $d/empty
printf 'hard link data' > $d/hard1
ln $d/hard1 $d/hard2
ln $d/hard1 $d/a/bb/hard3
printf pair > $d/pairA
ln $d/pairA $d/pairB
ln -s 1 $d/link-short
ln -s a/bb/ccc/../../../55555 $d/link-long
printf 'caf\\303\\251' > "$d/caf$(printf '\\303\\251')"
echo c > %{buildroot}/etc/fk/fk.conf
%files
/usr/share/fk
%dir /etc/fk
%config(noreplace) /etc/fk/fk.conf
%ghost /var/log/fk.log
`;

const EMPTY_SPEC = `Name: nofiles
Version: 1
Release: 1
Summary: A package with no files at all
License: MIT
BuildArch: noarch
Requires: bash
%description
Only dependencies.
%files
`;

/** A file over 4 GiB (sparse, zstd-compressed to almost nothing) makes rpm use LONGFILESIZES and the stripped archive. */
const HUGE_SPEC = `Name: hugefile
Version: 1
Release: 1
Summary: A file too large for FILESIZES
License: MIT
BuildArch: noarch
%define _binary_payload w1T2.zstdio
%define __os_install_post %{nil}
%description
One sparse file of 4 GiB and a little, a hard-link pair and a symlink.
%install
d=%{buildroot}/usr/share/huge
mkdir -p $d
truncate -s 4294967300 $d/huge
echo small > $d/small
ln $d/small $d/small-link
ln -s huge $d/sym
%files
/usr/share/huge
`;

const PAYLOADSIZE = 1007;
/** these packages are signed as the test runs */
const later = () => new Date(Math.max(NOW.getTime(), Date.now()));

let fx: Loaded;
let work: string;
let key: TestKey;
let testKeyring: Keyring;
/** the filekinds package, signed by trusted-ed25519 */
let kinds: PackageParts;
beforeAll(async () => {
  fx = await fixtures();
  work = await mkdtemp(join(tmpdir(), 'rpmv-payload-size-'));
  key = await generateEdKey();
  testKeyring = await loadKeyring([key.armoredPublic]);
}, 300_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const payloadSizeOf = (parts: PackageParts): number => {
  const e = readEntries(parts.sigHeader, 'signature').find((x) => x.tag === PAYLOADSIZE);
  if (e === undefined) throw new Error('no PAYLOADSIZE');
  return Buffer.from(e.data).readUInt32BE(0);
};
const withPayloadSize = (value: number) => (es: RawEntry[]) => es.map((e) => (e.tag === PAYLOADSIZE ? { ...e, data: u32(value) } : e));

describe('PAYLOADSIZE, unsigned, is held to the signed file list', () => {
  it('accepts what rpmbuild makes (every kind of file entry, no files, no path prefix) and agrees with rpm2cpio on the size', async () => {
    const builds = [
      ['kinds', await rpmbuild(work, 'kinds', KINDS_SPEC)],
      ['empty', await rpmbuild(work, 'empty', EMPTY_SPEC)],
      ['noprefix', await rpmbuild(work, 'noprefix', KINDS_SPEC.replace('Name: filekinds', 'Name: noprefix'), { _noPayloadPrefix: '1' })],
    ] as const;
    const sizes: Record<string, number> = {};
    for (const [id, built] of builds) {
      const pkg = await signedCopy(built, join(work, `${id}.rpm`), fx.set.keys['trusted-ed25519']);
      expect([id, (await rpmkeysCheck(pkg, fx.set.trustedKeyPaths)).ok]).toEqual([id, true]);
      const parts = splitPackage(await readFile(pkg));
      sizes[id] = payloadSizeOf(parts);
      expect([id, sizes[id]]).toEqual([id, await rpm2cpioBytes(pkg)]);
      const result = await verifyRpmFile(pkg, fx.trusted, { now: later() });
      expect(result.nevra.name).toBe(id === 'kinds' ? 'filekinds' : id === 'empty' ? 'nofiles' : 'noprefix');
      if (id === 'kinds') kinds = parts;
    }
    // the no-prefix build drops one "." per archived path, so the two layouts really were both exercised
    expect(sizes['empty']).toBe(124);
    expect(sizes['kinds']).not.toBe(sizes['noprefix']);
  }, 120_000);

  it('accepts the rarer forms rpmbuild makes: --nodirtokens, no compression, --target noarch', async () => {
    const variants = [
      // the old, uncompressed file list (OLDFILENAMES)
      ['nodirtokens', KINDS_SPEC, {}, ['--nodirtokens']],
      // no PAYLOADCOMPRESSOR tag at all
      ['plain', KINDS_SPEC, { _binary_payload: 'w0.ufdio' }, []],
      // what mock runs: the lead then carries 255, rpm's number for an arch it has no number for
      ['target', KINDS_SPEC, {}, ['--target', 'noarch']],
    ] as const;
    for (const [id, spec, defines, args] of variants) {
      const built = await rpmbuild(work, id, spec.replace('Name: filekinds', `Name: fk-${id}`), defines, args);
      const pkg = await signedCopy(built, join(work, `${id}.rpm`), fx.set.keys['trusted-rsa']);
      expect([id, (await rpmkeysCheck(pkg, fx.set.trustedKeyPaths)).ok]).toEqual([id, true]);
      const parts = splitPackage(await readFile(pkg));
      expect([id, payloadSizeOf(parts)]).toEqual([id, await rpm2cpioBytes(pkg)]);
      expect([id, (await verifyRpmFile(pkg, fx.trusted, { now: later() })).nevra.name]).toEqual([id, `fk-${id}`]);
      const tags = new Set(readEntries(parts.mainHeader, 'main').map((e) => e.tag));
      if (id === 'nodirtokens') expect([tags.has(1027), tags.has(1117)]).toEqual([true, false]);
      if (id === 'plain') expect(tags.has(1125)).toBe(false);
      if (id === 'target') expect(parts.lead.readUInt16BE(8)).toBe(255);
    }
  }, 120_000);

  it('finds the prefix requirement wherever it stands among REQUIRENAME, and only as a whole string', () => {
    const FEATURE = 'rpmlib(PayloadFilesHavePrefix)';
    const requires = (...names: string[]) => ({ tag: 1049, type: 8, count: names.length, data: Buffer.from(`${names.join('\0')}\0`, 'latin1') }) as const;
    const r = { code: 'RPM_FILE_LIST_BAD', where: 'main header', member: 'x.rpm' } as const;
    const cases: [string[], boolean][] = [
      [[FEATURE], true],
      [[FEATURE, 'bash'], true],
      [['bash', FEATURE, 'rpmlib(CompressedFileNames)'], true],
      [['bash', FEATURE], true],
      [['bash'], false],
      [[`${FEATURE}x`], false],
      [[`x${FEATURE}`], false],
      [['bash', `${FEATURE}x`], false],
    ];
    for (const [names, found] of cases) expect([names, stringArrayIncludes(requires(...names), FEATURE, r)]).toEqual([names, found]);
  });

  it('rejects, a known limit, a spec that requires the prefix feature itself while building without the prefix, which rpm accepts', async () => {
    // the header cannot tell this from a normal build; taking the requirement to mean the prefix keeps PAYLOADSIZE to one value
    const spec = KINDS_SPEC.replace('Name: filekinds', 'Name: fk-selfreq').replace('BuildArch: noarch', 'BuildArch: noarch\nRequires: rpmlib(PayloadFilesHavePrefix) <= 4.0-1');
    const built = await rpmbuild(work, 'selfreq', spec, { _noPayloadPrefix: '1' });
    const pkg = await signedCopy(built, join(work, 'selfreq.rpm'), fx.set.keys['trusted-rsa']);
    expect((await rpmkeysCheck(pkg, fx.set.trustedKeyPaths)).ok).toBe(true);
    expect(await outcome(await readFile(pkg), fx.trusted, undefined, later())).toBe('RPM_PAYLOAD_SIZE_MISMATCH');
  }, 60_000);

  it('agrees with rpmbuild on the stripped archive of a package with a file over 4 GiB', async () => {
    const built = await rpmbuild(work, 'huge', HUGE_SPEC);
    const pkg = await signedCopy(built, join(work, 'huge.rpm'), fx.set.keys['trusted-rsa']);
    await rm(join(work, 'top-huge'), { recursive: true, force: true });
    const parts = splitPackage(await readFile(pkg));
    expect(readEntries(parts.mainHeader, 'main').some((e) => e.tag === 5008)).toBe(true);
    const long = readEntries(parts.sigHeader, 'signature').find((e) => e.tag === 271);
    // 5 entries of 16 bytes, 4294967300 + 8 (the pair's data once) + 4 ("huge") bytes of data, the trailer
    expect(long === undefined ? undefined : Buffer.from(long.data).readBigUInt64BE(0)).toBe(4294967516n);
    expect((await verifyRpmFile(pkg, fx.trusted, { now: later() })).nevra.name).toBe('hugefile');
    const changed = rebuild(parts, { sig: (es) => es.map((e) => (e.tag === 271 ? { ...e, data: u64(4294967512n) } : e)) });
    expect(await outcome(changed, fx.trusted, undefined, later())).toBe('RPM_PAYLOAD_SIZE_MISMATCH');
    // SIZE next to the 64-bit pair: rebuild writes the true size into SIZE, and LONGSIZE would go unread
    const sigTags = readEntries(parts.sigHeader, 'signature').map((e) => e.tag);
    expect([sigTags.includes(270), sigTags.includes(271), sigTags.includes(1000)]).toEqual([true, true, false]);
    const both = rebuild(parts, {
      sig: (es) => [...es.map((e) => (e.tag === 270 ? { ...e, data: u64(1n << 40n) } : e)), { tag: 1000, type: 4, count: 1, data: u32(0) }].sort((a, b) => a.tag - b.tag),
    });
    expect(await outcome(both, fx.trusted, undefined, later())).toBe('RPM_SIG_TAG_BAD');
  }, 180_000);

  it('rejects a PAYLOADSIZE changed by any single bit or by a small step, which rpm accepts', async () => {
    const good = payloadSizeOf(kinds);
    const values = new Set<number>([good + 1, good - 1, good + 4, good - 4, good + 110, 0, 0xffffffff]);
    for (let bit = 0; bit < 32; bit++) values.add((good ^ (1 << bit)) >>> 0);
    for (const value of values) {
      const bytes = rebuild(kinds, { sig: withPayloadSize(value) });
      expect([value, await outcome(bytes, fx.trusted, undefined, later())]).toEqual([value, 'RPM_PAYLOAD_SIZE_MISMATCH']);
    }
    expect(await rpmAccepts(work, rebuild(kinds, { sig: withPayloadSize(good + 4) }), 'size-plus-4.rpm')).toBe(true);
    expect(await outcome(rebuild(kinds, {}), fx.trusted, undefined, later())).toBe('ACCEPTED');
  });

  it('uses the stripped archive layout when the file sizes are LONGFILESIZES', async () => {
    const entries = readEntries(kinds.mainHeader, 'main');
    const sizes = entries.find((e) => e.tag === 1028)!;
    const long = Buffer.alloc(sizes.count * 8);
    for (let i = 0; i < sizes.count; i++) long.writeBigUInt64BE(BigInt(Buffer.from(sizes.data).readUInt32BE(i * 4)), i * 8);
    const toLong = (es: RawEntry[]) => withEntry({ tag: 5008, type: 5, count: sizes.count, data: long })(withoutEntry(1028)(es));
    // stripped: a 16-byte header per archived file (no path), the same data, the same trailer
    const archived = readEntries(kinds.mainHeader, 'main').find((e) => e.tag === 1037)!;
    const flags = Array.from({ length: archived.count }, (_, i) => Buffer.from(archived.data).readUInt32BE(i * 4));
    const ghosts = flags.filter((f) => (f & 64) !== 0).length;
    expect(ghosts).toBe(1);
    const newc = payloadSizeOf(kinds);
    // work the stripped size out from the newc one: swap each file's header and path for 16 bytes
    const names = pathsOf(kinds).filter((_, i) => ((flags[i] ?? 0) & 64) === 0);
    const headers = names.reduce((sum, p) => sum + align4(110 + p.length + 1), 0);
    const stripped = newc - headers + names.length * 16;
    const forged = (value: number) => forgePackage(kinds, key.primary, { main: toLong, sig: withPayloadSize(value) });
    expect(await outcome(forged(stripped), testKeyring)).toBe('ACCEPTED');
    expect(await outcome(forged(newc), testKeyring)).toBe('RPM_PAYLOAD_SIZE_MISMATCH');
  });

  it('reads a 64-bit file size up to 2^53 - 1 and refuses 2^53, the first a Number cannot hold exactly', () => {
    const r = { code: 'RPM_FILE_LIST_BAD', where: 'main header file list', member: 'x.rpm' } as const;
    const column = (...values: bigint[]) => readUintColumn({ tag: 5008, type: 5, count: values.length, data: Buffer.concat(values.map((v) => Buffer.from(u64(v)))) }, 5, r);
    expect(column(1n, 2n ** 53n - 1n)(1)).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => column(1n, 2n ** 53n)).toThrow('tag 5008 value 1 is implausibly large');
  });

  it('refuses a file list whose sizes add up past 2^53 bytes, each size readable alone', async () => {
    const modes = readEntries(kinds.mainHeader, 'main').find((e) => e.tag === 1030)!;
    const regular = Array.from({ length: modes.count }, (_, i) => (Buffer.from(modes.data).readUInt16BE(i * 2) & 0o170000) === 0o100000);
    const huge = Buffer.concat(regular.map((isFile) => Buffer.from(u64(isFile ? 2n ** 52n : 0n))));
    const toHuge = (es: RawEntry[]) => withEntry({ tag: 5008, type: 5, count: regular.length, data: huge })(withoutEntry(1028)(es));
    expect(regular.filter(Boolean).length).toBeGreaterThan(2);
    const failure = await verifyError(forgePackage(kinds, key.primary, { main: toHuge }));
    expect(failure).toEqual({ code: 'RPM_FILE_LIST_BAD', message: expect.stringContaining('the archive size is implausibly large') as string });
  });

  it('counts a hard-link set once, with the size its last file in header order has', async () => {
    const column = (tag: number) => int32Column(kinds, tag);
    const inodes = column(1096);
    const devices = column(1095);
    const sizes = column(1028);
    const set = inodes.map((_, i) => i).filter((i) => inodes.filter((n, j) => n === inodes[i] && devices[j] === devices[i]).length === 3);
    expect(set).toHaveLength(3);
    const [first, , last] = set as [number, number, number];
    const grown = (i: number) => (es: RawEntry[]) =>
      es.map((e) => (e.tag === 1028 ? { ...e, data: u32(...sizes.map((v, j) => (j === i ? v + 4 : v))) } : e));
    const before = payloadSizeOf(kinds);
    const forged = (i: number, value: number) => forgePackage(kinds, key.primary, { main: grown(i), sig: withPayloadSize(value) });
    // the set's data is written once, with its last member: only that member's size counts
    expect(await outcome(forged(last, before + 4), testKeyring)).toBe('ACCEPTED');
    expect(await outcome(forged(last, before), testKeyring)).toBe('RPM_PAYLOAD_SIZE_MISMATCH');
    expect(await outcome(forged(first, before), testKeyring)).toBe('ACCEPTED');
    expect(await outcome(forged(first, before + 4), testKeyring)).toBe('RPM_PAYLOAD_SIZE_MISMATCH');
  });

  it('never takes regular files with inode 0 for a hard-link set, as rpm skips them', async () => {
    const column = (tag: number) => int32Column(kinds, tag);
    const inodes = column(1096);
    const sizes = column(1028);
    const set = inodes.map((_, i) => i).filter((i) => inodes.filter((n) => n === inodes[i]).length === 3);
    expect(set).toHaveLength(3);
    const zeroed = (es: RawEntry[]) => es.map((e) => (e.tag === 1096 ? { ...e, data: u32(...inodes.map((n, i) => (set.includes(i) ? 0 : n))) } : e));
    const before = payloadSizeOf(kinds);
    // three separate files: the two that wrote no data as links now write their own
    const separate = before + set.slice(0, 2).reduce((sum, i) => sum + align4(sizes[i] ?? 0), 0);
    const forged = (value: number) => forgePackage(kinds, key.primary, { main: zeroed, sig: withPayloadSize(value) });
    expect(await outcome(forged(separate), testKeyring)).toBe('ACCEPTED');
    expect(await outcome(forged(before), testKeyring)).toBe('RPM_PAYLOAD_SIZE_MISMATCH');
  });

  it('rejects a signed header whose file list cannot be followed, naming the tag', async () => {
    const forged = (edit: (es: RawEntry[]) => RawEntry[]) => forgePackage(kinds, key.primary, { main: edit });
    const modes = readEntries(kinds.mainHeader, 'main').find((e) => e.tag === 1030)!;
    const dirCount = readEntries(kinds.mainHeader, 'main').find((e) => e.tag === 1118)!.count;
    const cases: [string, (es: RawEntry[]) => RawEntry[], RegExp][] = [
      ['one mode short', withEntry({ ...modes, count: modes.count - 1, data: modes.data.subarray(0, modes.data.length - 2) }), /tag 1030 has \d+ values for \d+ files/],
      ['no FILEFLAGS', withoutEntry(1037), /tag 1037 is missing/],
      ['no BASENAMES', withoutEntry(1117), /no BASENAMES/],
      ['no DIRNAMES', withoutEntry(1118), /DIRNAMES \(1118\) is missing/],
      ['both size arrays', withEntry({ tag: 5008, type: 5, count: modes.count, data: Buffer.concat(Array.from({ length: modes.count }, () => Buffer.from(u64(1n)))) }), /exactly one of FILESIZES/],
      ['an old file list', withEntry({ tag: 1027, type: 8, count: 1, data: str('/x') }), /OLDFILENAMES/],
      ['a directory index out of range', (es) => es.map((e) => (e.tag === 1116 ? { ...e, data: u32(...Array.from({ length: e.count }, () => 9999)) } : e)), /points at directory 9999/],
      ['a directory index one past the last', (es) => es.map((e) => (e.tag === 1116 ? { ...e, data: u32(...Array.from({ length: e.count }, () => dirCount)) } : e)), new RegExp(`points at directory ${String(dirCount)}`)],
    ];
    for (const [what, edit, reason] of cases) {
      const failure = await verifyError(forged(edit));
      expect([what, failure.code]).toEqual([what, 'RPM_FILE_LIST_BAD']);
      expect(failure.message).toMatch(reason);
    }
  });

  it('walks a huge file list under one huge directory name only once the header is signed, and cheaply', async () => {
    // 200,000 files under one 1 MiB directory name: joined path strings would cost 200 GB
    const files = 200_000;
    const filled = (size: number, write: (b: Buffer, at: number) => void) => {
      const b = Buffer.alloc(files * size);
      for (let i = 0; i < files; i++) write(b, i * size);
      return b;
    };
    const huge = (es: RawEntry[]) =>
      es
        .filter((e) => e.tag !== 1095 && e.tag !== 1096 && e.tag !== 5008)
        .map((e) => {
          if (e.tag === 1028 || e.tag === 1037 || e.tag === 1116) return { ...e, type: 4, count: files, data: filled(4, (b, at) => b.writeUInt32BE(0, at)) };
          if (e.tag === 1030) return { ...e, type: 3, count: files, data: filled(2, (b, at) => b.writeUInt16BE(0o100644, at)) };
          if (e.tag === 1117) return { ...e, count: files, data: Buffer.from('a\0'.repeat(files), 'latin1') };
          if (e.tag === 1118) return { ...e, count: 1, data: str(`/${'d'.repeat(1 << 20)}`) };
          return e;
        });
    const ed = splitPackage(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-ed25519')!.path));
    // unsigned (the old signature over another header): refused as tampered, the list never walked
    expect(await outcome(rebuild(ed, { main: huge }), fx.trusted)).toBe('RPM_DIGEST_MISMATCH');
    // signed by a trusted (test) key: walked after the signature, and the size is judged
    const signed = forgePackage(ed, key.primary, { main: huge });
    expect(await outcome(signed, testKeyring, undefined, later())).toMatch(/^RPM_(PAYLOAD_SIZE_MISMATCH|FILE_LIST_BAD)$/);
  }, 60_000);

  it('judges the size only after the header is authentic: a tampered header fails as tampered', async () => {
    const mainAt = kinds.mainStart + 16;
    const bytes = Buffer.from(kinds.bytes);
    // an index entry's count in the main header: the header digest notices before any size rule
    bytes[mainAt + 16 * 3 + 15] = (bytes[mainAt + 16 * 3 + 15] ?? 0) ^ 0x01;
    expect(await outcome(bytes, fx.trusted, undefined, later())).toMatch(/^RPM_(HEADER|DIGEST|SIG)_/);
  });
});

const align4 = (n: number) => n + ((4 - (n % 4)) % 4);

/** The values of a main-header INT32 array. */
function int32Column(parts: PackageParts, tag: number): number[] {
  const e = readEntries(parts.mainHeader, 'main').find((x) => x.tag === tag)!;
  return Array.from({ length: e.count }, (_, i) => Buffer.from(e.data).readUInt32BE(i * 4));
}

/** Archive paths ("." + dirname + basename) of every file in the header, in header order. */
function pathsOf(parts: PackageParts): string[] {
  const entries = readEntries(parts.mainHeader, 'main');
  const strings = (tag: number) => Buffer.from(entries.find((e) => e.tag === tag)!.data).toString('latin1').replace(/\0$/, '').split('\0');
  const dirs = strings(1118);
  const index = int32Column(parts, 1116);
  return strings(1117).map((base, i) => `.${dirs[index[i] ?? 0] ?? ''}${base}`);
}

async function verifyError(bytes: Uint8Array): Promise<{ code: string; message: string }> {
  try {
    await verifyBytes(bytes, testKeyring);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code ?? 'none', message: e.message ?? '' };
  }
  return { code: 'ACCEPTED', message: '' };
}
