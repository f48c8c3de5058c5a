/**
 * One block of tests per entry of "The transfer stream (tar)" in the threat catalogue, several
 * variants each, every one with the error code it must produce.
 */
import { describe, expect, it } from 'vitest';
import { decodeUpdateStream, type DecodeLimits, type StreamErrorCode } from '../src/index.ts';
import { LIMITS, chunks, concat, decodeAll, rejection, text, type Rejection } from './helpers.ts';
import { buildTar, memberBytes, rawHeader, type RawMember } from './tar-builder.ts';

const GOOD: RawMember = { name: 'good-1.0-1.noarch.rpm', body: text('good') };

async function expectCode(bytes: Uint8Array, code: StreamErrorCode, limits?: DecodeLimits): Promise<Rejection> {
  const result = await rejection(bytes, limits);
  expect(result.error.code, result.error.message).toBe(code);
  return result;
}

describe('path escapes', () => {
  const names = ['../x.rpm', '/abs/x.rpm', '////abs.rpm', 'a/../../x.rpm', '..\\x.rpm', 'a\\b.rpm', 'C:x.rpm', 'C:../x.rpm', './x.rpm', 'sub/x.rpm', '..', '.rpm'];
  for (const name of names) {
    it(`rejects the member name ${JSON.stringify(name)}`, async () => {
      const { error, yielded } = await expectCode(buildTar([GOOD, { name, body: text('x') }]), 'TAR_BAD_NAME');
      expect(yielded).toEqual([GOOD.name]);
      expect(error.member).toBe(name);
    });
  }

  it('rejects a name split into the ustar prefix field', async () => {
    const { error } = await expectCode(buildTar([{ name: 'x.rpm', fields: { prefix: '../../etc' } }]), 'TAR_BAD_NAME');
    expect(error.message).toMatch(/prefix/);
    // the member is the name field alone; the message shows what the prefix would have added
    expect(error.member).toBe('x.rpm');
    expect(error.message).toContain('("../../etc";');
    // a prefix that starts with NULs is shown from its first set byte, which the message locates
    const hidden = await expectCode(buildTar([{ name: 'x.rpm', fields: { prefix: '\0../../etc' } }]), 'TAR_BAD_NAME');
    expect(hidden.error.message).toContain('from its byte 1 (header byte 346) ("../../etc";');
    // as other writers' atime/ctime at the end of the prefix area: the set bytes are shown
    const atEnd = await expectCode(buildTar([{ name: 'x.rpm', fields: { prefix: `${'\0'.repeat(130)}14517147070\0` } }]), 'TAR_BAD_NAME');
    expect(atEnd.error.message).toContain('from its byte 130 (header byte 475) ("14517147070";');
  });
});

describe('links', () => {
  it('rejects a symbolic link member', async () => {
    const { error } = await expectCode(buildTar([{ name: 'x.rpm', fields: { typeflag: '2', linkname: '/etc/shadow' } }]), 'TAR_LINK_MEMBER');
    expect(error.message).toMatch(/symbolic link/);
  });

  it('rejects a hard link member', async () => {
    const { error } = await expectCode(buildTar([GOOD, { name: 'y.rpm', fields: { typeflag: '1', linkname: GOOD.name! } }]), 'TAR_LINK_MEMBER');
    expect(error.message).toMatch(/hard link/);
  });

  it('rejects a link followed by a file of the same name before the file is reached', async () => {
    const { yielded } = await expectCode(
      buildTar([{ name: 'x.rpm', fields: { typeflag: '2', linkname: '../../../etc/passwd' } }, { name: 'x.rpm', body: text('root::0') }]),
      'TAR_LINK_MEMBER',
    );
    expect(yielded).toEqual([]);
  });

  it('rejects a chain of links at its first link', async () => {
    const { error } = await expectCode(
      buildTar([
        { name: 'a.rpm', fields: { typeflag: '2', linkname: 'b.rpm' } },
        { name: 'b.rpm', fields: { typeflag: '2', linkname: 'c.rpm' } },
        { name: 'c.rpm', fields: { typeflag: '1', linkname: '/etc/passwd' } },
      ]),
      'TAR_LINK_MEMBER',
    );
    expect(error.member).toBe('a.rpm');
  });

  it('rejects a regular file that carries a link name', async () => {
    await expectCode(buildTar([{ name: 'x.rpm', body: text('x'), fields: { linkname: '/etc/passwd' } }]), 'TAR_LINK_MEMBER');
  });
});

describe('member types other than regular files', () => {
  const types: [string, RegExp][] = [
    ['5', /directory/],
    ['3', /character device/],
    ['4', /block device/],
    ['6', /FIFO/],
    ['7', /contiguous/],
    ['S', /sparse/],
    ['V', /volume/],
    ['M', /multi-volume/],
    ['D', /dump directory/],
    ['N', /old long names/],
    ['A', /unknown type flag "A"/],
    ['9', /unknown type flag "9"/],
    ['\x01', /unknown type flag 0x01/],
    [' ', /unknown type flag 0x20/],
    ['\xff', /unknown type flag 0xff/],
  ];
  for (const [flag, reason] of types) {
    it(`rejects type flag ${JSON.stringify(flag)}`, async () => {
      const { error } = await expectCode(buildTar([GOOD, { name: 'x.rpm', fields: { typeflag: flag } }]), 'TAR_UNSUPPORTED_TYPE');
      expect(error.message).toMatch(reason);
      // the flag is named once, with the type's name where it has one
      expect(error.message.match(/type flag|\(type /g)).toHaveLength(1);
    });
  }

  it('accepts the old NUL type flag for a regular file', async () => {
    const decoded = await decodeAll(buildTar([{ name: 'x.rpm', body: text('abc'), fields: { typeflag: '\0' } }]));
    expect(decoded).toEqual([{ name: 'x.rpm', bytes: text('abc') }]);
  });
});

function pax(records: Record<string, string>, type = 'x'): RawMember {
  const body = Object.entries(records)
    .map(([key, value]) => {
      const record = ` ${key}=${value}\n`;
      let length = record.length + 1;
      while (`${length}${record}`.length !== length) length++;
      return `${length}${record}`;
    })
    .join('');
  return { name: 'PaxHeaders/x.rpm', body: Uint8Array.from(body, (c) => c.charCodeAt(0)), fields: { typeflag: type } };
}

describe('pax headers', () => {
  const cases: [string, RawMember[]][] = [
    ['a pax header overriding the path', [pax({ path: '../../etc/cron.d/x' }), { name: 'x.rpm', body: text('x') }]],
    ['a pax header overriding the link path', [pax({ linkpath: '/etc/shadow' }), { name: 'x.rpm', fields: { typeflag: '2' } }]],
    ['a pax header overriding the size (TARmageddon: ustar size 0)', [pax({ size: '1024' }), { name: 'x.rpm' }, ...[{ name: 'inner.rpm', body: text('smuggled') }]]],
    ['a global pax header', [pax({ path: 'evil.rpm' }, 'g'), { name: 'x.rpm', body: text('x') }]],
    ['a pax size applied to a following GNU long name', [pax({ size: '4096' }), { name: '././@LongLink', body: text('evil.rpm\0'), fields: { typeflag: 'L' } }]],
    ['a NUL inside a pax path', [pax({ path: 'x.rpm\0../../etc/passwd' }), { name: 'x.rpm', body: text('x') }]],
    ['an all-digit pax path', [pax({ path: '12345' }), { name: 'x.rpm', body: text('x') }]],
  ];
  for (const [what, members] of cases) {
    it(`rejects ${what} at its header, yielding nothing after it`, async () => {
      const { error, yielded } = await expectCode(buildTar([GOOD, ...members]), 'TAR_UNSUPPORTED_TYPE');
      expect(error.message).toMatch(/pax (extended|global) header/);
      expect(yielded).toEqual([GOOD.name]);
    });
  }

  it('rejects a 200 MiB pax header without reading its body', async () => {
    const header = rawHeader({ name: 'PaxHeaders/big', fields: { typeflag: 'x', size: `${(200 * 1024 * 1024).toString(8).padStart(11, '0')}\0` } });
    let produced = 0;
    async function* lazy(): AsyncGenerator<Uint8Array> {
      produced += header.length;
      yield header;
      for (let i = 0; i < (200 * 1024 * 1024) / 65536; i++) {
        await Promise.resolve();
        produced += 65536;
        yield new Uint8Array(65536).fill(0x61);
      }
    }
    const error = await (async () => {
      for await (const member of decodeUpdateStream(lazy(), { ...LIMITS, maxMemberBytes: 1024 ** 4, maxTotalBytes: 1024 ** 4 })) {
        throw new Error(`unexpected member ${member.name}`);
      }
      return undefined;
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TAR_UNSUPPORTED_TYPE' });
    expect(produced).toBe(512);
  });
});

describe('GNU long names and links', () => {
  it('rejects a GNU long name (L) header', async () => {
    const { error } = await expectCode(
      buildTar([{ name: '././@LongLink', body: text(`${'a'.repeat(200)}.rpm\0`), fields: { typeflag: 'L' } }, { name: 'x.rpm' }]),
      'TAR_UNSUPPORTED_TYPE',
    );
    expect(error.message).toMatch(/GNU long name/);
  });

  it('rejects a GNU long link (K) header', async () => {
    const { error } = await expectCode(
      buildTar([{ name: '././@LongLink', body: text('/etc/shadow\0'), fields: { typeflag: 'K' } }, { name: 'x.rpm', fields: { typeflag: '2' } }]),
      'TAR_UNSUPPORTED_TYPE',
    );
    expect(error.message).toMatch(/GNU long link/);
  });
});

describe('numeric fields', () => {
  const base256Negative = Uint8Array.from([0xff, ...new Array<number>(10).fill(0xff), 0x00]);
  const base256Huge = Uint8Array.from([0x80, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0]);
  const sizes: [string, string | Uint8Array][] = [
    ['negative base-256', base256Negative],
    ['positive base-256', base256Huge],
    ['trailing garbage 00000000012x', '00000000012x'],
    ['a non-octal digit 8', '00000000018\0'],
    ['a leading space', ' 0000000012\0'],
    ['a plus sign', '+0000000012\0'],
    ['an empty field', ''],
    ['digits after a terminator', '0000012\0 034'],
    ['a minus sign', '-0000000001\0'],
  ];
  for (const [what, size] of sizes) {
    it(`rejects a size field with ${what} before reading the body`, async () => {
      // the stream ends with the header: a decoder that went on to the body would say truncated
      const { error } = await expectCode(concat([...memberBytes(GOOD), rawHeader({ name: 'x.rpm', fields: { size } })]), 'TAR_BAD_NUMBER');
      expect(error.message).toMatch(/size field/);
    });
  }

  it('rejects base-256 numbers in mode, uid, gid, size and mtime as base-256, not as a bad digit', async () => {
    const lengths = { mode: 8, uid: 8, gid: 8, size: 12, mtime: 12 } as const;
    for (const [field, length] of Object.entries(lengths) as [keyof typeof lengths, number][]) {
      for (const lead of [0x80, 0xff]) {
        const value = new Uint8Array(length).fill(lead === 0xff ? 0xff : 0);
        value[0] = lead;
        value[length - 1] = 1;
        const { error } = await expectCode(buildTar([{ name: 'x.rpm', fields: { [field]: value } }]), 'TAR_BAD_NUMBER');
        expect(error.message).toContain(`${field} field: base-256 (binary) numbers are not allowed`);
      }
    }
  });

  it('says a field led by another high-bit byte (UTF-8 of a fullwidth digit) holds no octal digit, not that it is base-256', async () => {
    for (const lead of [0xef, 0x81, 0xc2]) {
      const value = Uint8Array.from([lead, 0xbc, 0x90, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x00]);
      const { error } = await expectCode(buildTar([{ name: 'x.rpm', fields: { size: value } }]), 'TAR_BAD_NUMBER');
      expect(error.message).toContain(`size field: expected an octal digit, found 0x${lead.toString(16)}`);
    }
  });

  it('rejects garbage in mode, uid, gid and mtime', async () => {
    for (const field of ['mode', 'uid', 'gid', 'mtime'] as const) {
      const { error } = await expectCode(buildTar([{ name: 'x.rpm', fields: { [field]: '0000x44\0' } }]), 'TAR_BAD_NUMBER');
      expect(error.message).toContain(`${field} field`);
    }
  });

  it('rejects a mode with file-type bits', async () => {
    // regular file, directory, FIFO, character device: all above the 12 permission bits
    for (const mode of ['0100644', '0040755\0', '0010644\0', '0020644\0']) {
      await expectCode(buildTar([{ name: 'x.rpm', fields: { mode } }]), 'TAR_BAD_NUMBER');
    }
  });

  it('accepts sizes written with a space terminator or without a terminator', async () => {
    for (const size of ['00000000003 ', '000000000003', '3\0\0\0\0\0\0\0\0\0\0\0']) {
      expect(await decodeAll(buildTar([{ name: 'x.rpm', body: text('abc'), fields: { size } }]))).toEqual([{ name: 'x.rpm', bytes: text('abc') }]);
    }
  });

  it('rejects a size far beyond the member limit without reading the body', async () => {
    const { error } = await expectCode(
      buildTar([{ name: 'x.rpm', fields: { size: '77777777777\0' } }]),
      'TAR_MEMBER_TOO_LARGE',
    );
    expect(error.message).toContain('8589934591');
  });
});

describe('header checksum and magic', () => {
  it('rejects a wrong checksum', async () => {
    await expectCode(buildTar([{ name: 'x.rpm', checksum: '000000\0 ' }]), 'TAR_BAD_CHECKSUM');
  });

  it('rejects a header whose byte was changed after the checksum was computed', async () => {
    const bytes = buildTar([{ name: 'x.rpm', body: text('abc') }]);
    bytes[0] = 'y'.charCodeAt(0);
    await expectCode(bytes, 'TAR_BAD_CHECKSUM');
  });

  it('names no member for a header whose checksum fails (its name field is unchecked too), and says which header it was', async () => {
    const forged = buildTar([GOOD, { name: 'dom0-hello-2.0-1.noarch.rpm', checksum: '000000\0 ' }]);
    const { error } = await expectCode(forged, 'TAR_BAD_CHECKSUM');
    expect(error.member).toBeUndefined();
    expect(error.message).toMatch(/^the header of member 2: header checksum is 0 but the header sums to [0-7]+ \(octal\)$/);
    expect(error.message).not.toContain('dom0-hello');
    const { error: field } = await expectCode(buildTar([{ name: 'x.rpm', checksum: 'zzzzzz\0 ' }]), 'TAR_BAD_CHECKSUM');
    expect([field.member, field.message]).toEqual([undefined, expect.stringMatching(/^the header of member 1: checksum field: /) as string]);
  });

  it('says which header has an empty name', async () => {
    const { error } = await expectCode(buildTar([GOOD, { name: 'good-2.0-1.noarch.rpm', body: text('good') }, { name: '', body: text('x') }]), 'TAR_BAD_NAME');
    expect([error.member, error.message]).toEqual([undefined, 'the header of member 3: the name is empty']);
  });

  it('rejects a non-octal checksum field', async () => {
    await expectCode(buildTar([{ name: 'x.rpm', checksum: 'zzzzzz\0 ' }]), 'TAR_BAD_CHECKSUM');
  });

  it('rejects the historic signed checksum', async () => {
    const member: RawMember = { name: 'x.rpm', fields: { uname: '\xe9' } };
    const block = rawHeader(member);
    let signed = 0;
    for (let i = 0; i < 512; i++) signed += i >= 148 && i < 156 ? 0x20 : (block[i]! << 24) >> 24;
    await expectCode(buildTar([{ ...member, checksum: `${signed.toString(8).padStart(6, '0')}\0 ` }]), 'TAR_BAD_CHECKSUM');
  });

  const magics: [string, string, string][] = [
    ['GNU', 'ustar ', ' \0'],
    ['old V7 (empty)', '', ''],
    ['ustar with a wrong version', 'ustar\0', '01'],
    ['garbage', 'USTAR\0', '00'],
  ];
  for (const [what, magic, version] of magics) {
    it(`rejects ${what} magic`, async () => {
      await expectCode(buildTar([{ name: 'x.rpm', fields: { magic, version } }]), 'TAR_BAD_MAGIC');
    });
  }
});

describe('other header fields', () => {
  it('rejects non-zero reserved bytes', async () => {
    await expectCode(buildTar([{ name: 'x.rpm', fields: { pad: 'x' } }]), 'TAR_BAD_HEADER');
  });

  it('rejects owner names with control characters or no terminator', async () => {
    await expectCode(buildTar([{ name: 'x.rpm', fields: { uname: 'ro\x1bot' } }]), 'TAR_BAD_HEADER');
    await expectCode(buildTar([{ name: 'x.rpm', fields: { gname: 'g'.repeat(32) } }]), 'TAR_BAD_HEADER');
  });

  it('rejects device numbers on a regular file', async () => {
    await expectCode(buildTar([{ name: 'x.rpm', fields: { devmajor: '0000001\0' } }]), 'TAR_BAD_HEADER');
  });

  it('rejects non-zero padding after a body', async () => {
    await expectCode(buildTar([{ name: 'x.rpm', body: text('abc'), padding: new Uint8Array(509).fill(1) }]), 'TAR_BAD_PADDING');
  });
});

describe('truncation', () => {
  const full = buildTar([GOOD, { name: 'second.rpm', body: new Uint8Array(1000).fill(5) }]);
  const cases: [string, number, StreamErrorCode][] = [
    ['an empty stream', 0, 'TAR_MISSING_END'],
    ['mid-header', 100, 'TAR_TRUNCATED'],
    ['mid-file', 512 + 2, 'TAR_TRUNCATED'],
    ['mid-padding', 512 + 100, 'TAR_TRUNCATED'],
    ['mid-file of the second member', 1024 + 512 + 700, 'TAR_TRUNCATED'],
    ['before the end marker', 1024 + 512 + 1024, 'TAR_MISSING_END'],
    ['after one zero block', 1024 + 512 + 1024 + 512, 'TAR_MISSING_END'],
    ['inside the second zero block', 1024 + 512 + 1024 + 700, 'TAR_TRUNCATED'],
  ];
  for (const [what, length, code] of cases) {
    it(`rejects a stream cut ${what}`, async () => {
      expect(length).toBeLessThan(full.length);
      await expectCode(full.subarray(0, length), code);
    });
  }

  it('says how many bytes of the body are missing, in the singular for one', async () => {
    const bodyEnd = 1024 + 512 + 1000;
    expect((await expectCode(full.subarray(0, bodyEnd - 1), 'TAR_TRUNCATED')).error.message).toMatch(/, 1 byte short$/);
    expect((await expectCode(full.subarray(0, bodyEnd - 2), 'TAR_TRUNCATED')).error.message).toMatch(/, 2 bytes short$/);
  });
});

describe('after the end-of-archive marker', () => {
  it('accepts zero padding up to a 10240-byte record', async () => {
    expect(await decodeAll(buildTar([GOOD], new Uint8Array(10240)))).toHaveLength(1);
    expect(await decodeAll(buildTar([GOOD], new Uint8Array(1024 + 10240)))).toHaveLength(1);
  });

  it('rejects non-zero bytes after the marker', async () => {
    await expectCode(buildTar([GOOD], concat([new Uint8Array(1024), Uint8Array.of(0, 0, 1)])), 'TAR_TRAILING_DATA');
  });

  it('rejects a further member after the marker', async () => {
    const { yielded } = await expectCode(buildTar([GOOD], concat([new Uint8Array(1024), ...memberBytes({ name: 'late.rpm', body: text('x') })])), 'TAR_TRAILING_DATA');
    expect(yielded).toEqual([GOOD.name]);
  });

  it('rejects endless zeros after the marker after reading a bounded amount', async () => {
    let produced = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield buildTar([GOOD]);
      for (;;) {
        await Promise.resolve();
        produced += 4096;
        yield new Uint8Array(4096);
      }
    }
    await expect(decodeAllFrom(endless())).rejects.toMatchObject({ code: 'TAR_TRAILING_DATA' });
    expect(produced).toBeLessThanOrEqual(10240 + 4096);
  });

  it('rejects a lone zero block followed by a member', async () => {
    await expectCode(concat([...memberBytes(GOOD), new Uint8Array(512), ...memberBytes({ name: 'b.rpm' }), new Uint8Array(1024)]), 'TAR_MISSING_END');
  });
});

async function decodeAllFrom(source: AsyncIterable<Uint8Array>, limits: DecodeLimits = LIMITS): Promise<string[]> {
  const names: string[] = [];
  for await (const member of decodeUpdateStream(source, limits)) {
    names.push(member.name);
    for await (const piece of member.body) expect(piece).toBeInstanceOf(Uint8Array);
  }
  return names;
}

describe('names', () => {
  it('rejects a duplicate name', async () => {
    const { error, yielded } = await expectCode(buildTar([GOOD, { name: 'b.rpm' }, GOOD]), 'TAR_DUPLICATE_NAME');
    expect(yielded).toEqual([GOOD.name, 'b.rpm']);
    expect(error.member).toBe(GOOD.name);
  });

  const bad: [string, string, RegExp][] = [
    ['an escape sequence', 'a\x1b[2J.rpm', /control/],
    ['a newline', 'a\n.rpm', /control/],
    ['DEL', 'a\x7f.rpm', /control/],
    ['a C1 control byte', 'a\x9b.rpm', /printable ASCII/],
    ['invalid UTF-8', 'a\xff\xfe.rpm', /printable ASCII/],
    ['valid UTF-8 outside ASCII', 'caf\xc3\xa9.rpm', /printable ASCII/],
    ['a NUL inside the name', 'x.rpm\0../../etc/passwd', /NUL/],
    ['a space', 'a b.rpm', /does not match/],
    ['a leading dot', '.hidden.rpm', /start with a letter or digit/],
    ['a leading dash', '-rf.rpm', /start with a letter or digit/],
    ['a wrong suffix', 'x.rpm.sh', /end in ".rpm"/],
    ['no name at all', '', /empty/],
    ['a deep path', `${'d/'.repeat(40)}x.rpm`, /flat|"\/"/],
  ];
  it('names no member when the name field is empty', async () => {
    const { error } = await expectCode(buildTar([{ name: '', body: text('x') }]), 'TAR_BAD_NAME');
    expect(error.member).toBeUndefined();
    expect(error.message).not.toMatch(/^member /);
  });

  it('names the whole name field, escaped, when bytes follow a NUL at its start', async () => {
    const { error } = await expectCode(buildTar([{ name: '\0x.rpm', body: text('x') }]), 'TAR_BAD_NAME');
    expect(error.member).toBe('\\x00x.rpm');
    expect(error.message).toMatch(/after a NUL/);
  });

  for (const [what, name, reason] of bad) {
    it(`rejects a name with ${what}, showing it sanitised`, async () => {
      const { error } = await expectCode(buildTar([{ name, body: text('x') }]), 'TAR_BAD_NAME');
      expect(error.message).toMatch(reason);
      expect(error.message).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
      expect(error.member ?? '').not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    });
  }

  it('rejects a name with a byte just outside printable ASCII (0x1f, 0x7f, 0x80) at the header, before the name rule', async () => {
    for (const byte of [0x1f, 0x7f, 0x80]) {
      const { error } = await expectCode(buildTar([{ name: `a${String.fromCharCode(byte)}.rpm`, body: text('x') }]), 'TAR_BAD_NAME');
      expect(error.message).toContain('the name contains control characters or bytes outside printable ASCII');
    }
    const nul = await expectCode(buildTar([{ name: 'a\0b.rpm', body: text('x') }]), 'TAR_BAD_NAME');
    expect(nul.error.message).toContain('the name field has bytes after a NUL (a NUL inside the name)');
  });

  it('accepts a name of exactly 100 bytes, the whole ustar name field', async () => {
    const name = `${'a'.repeat(96)}.rpm`;
    expect(await decodeAll(buildTar([{ name, body: text('x') }]))).toEqual([{ name, bytes: text('x') }]);
  });
});

describe('limits', () => {
  it('rejects one member more than allowed', async () => {
    const members = Array.from({ length: 4 }, (_, i) => ({ name: `m${i}.rpm`, body: text('x') }));
    const { error, yielded } = await expectCode(buildTar(members), 'TAR_TOO_MANY_MEMBERS', { ...LIMITS, maxMembers: 3 });
    expect(yielded).toHaveLength(3);
    expect(error.member).toBe('m3.rpm');
    expect(await decodeAll(buildTar(members.slice(0, 3)), { ...LIMITS, maxMembers: 3 })).toHaveLength(3);
  });

  it('says "member", not "members", when the limit is one', async () => {
    const members = [{ name: 'a.rpm', body: text('x') }, { name: 'b.rpm', body: text('y') }];
    const { error } = await expectCode(buildTar(members), 'TAR_TOO_MANY_MEMBERS', { ...LIMITS, maxMembers: 1 });
    expect(error.message).toBe('member b.rpm: more than 1 member');
  });

  it('rejects a member one byte over the member limit', async () => {
    await expectCode(buildTar([{ name: 'x.rpm', body: new Uint8Array(101) }]), 'TAR_MEMBER_TOO_LARGE', { ...LIMITS, maxMemberBytes: 100 });
    expect(await decodeAll(buildTar([{ name: 'x.rpm', body: new Uint8Array(100) }]), { ...LIMITS, maxMemberBytes: 100 })).toHaveLength(1);
  });

  it('rejects members that together exceed the total limit, at the header that crosses it', async () => {
    const members = [{ name: 'a.rpm', body: new Uint8Array(600) }, { name: 'b.rpm', body: new Uint8Array(401) }];
    const { yielded } = await expectCode(buildTar(members), 'TAR_TOO_MANY_BYTES', { ...LIMITS, maxTotalBytes: 1000 });
    expect(yielded).toEqual(['a.rpm']);
  });

  it('rejects invalid limits from the caller', async () => {
    await expect(decodeAll(buildTar([GOOD]), { ...LIMITS, maxMembers: Number.NaN })).rejects.toThrow(RangeError);
  });

  it('rejects a negative limit from the caller', async () => {
    for (const limit of ['maxMembers', 'maxMemberBytes', 'maxTotalBytes', 'idleTimeoutMs', 'overallTimeoutMs'] as const) {
      await expect(decodeAll(buildTar([GOOD]), { ...LIMITS, [limit]: -1 }), limit).rejects.toThrow(RangeError);
    }
  });
});

/** A sender that sends `bytes`, then nothing, forever; `onReturn` sees the decoder let go of it. */
function stallingAfter(bytes: Uint8Array, onReturn: () => void = () => undefined): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]: () => {
      let sent = false;
      return {
        next: () => {
          if (sent) return new Promise<never>(() => undefined);
          sent = true;
          return Promise.resolve({ done: false, value: bytes });
        },
        return: () => {
          onReturn();
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
}

describe('slow or stalled senders', () => {
  it('ends a sender that stalls forever with TAR_TIMEOUT', async () => {
    let returned = false;
    const stalled = stallingAfter(rawHeader({ name: 'x.rpm', body: new Uint8Array(10) }), () => {
      returned = true;
    });
    await expect(decodeAllFrom(stalled, { ...LIMITS, idleTimeoutMs: 30 })).rejects.toMatchObject({
      code: 'TAR_TIMEOUT',
      message: expect.stringMatching(/sent nothing for 30 ms/) as unknown,
    });
    expect(returned).toBe(true);
  });

  it('names the member whose body was being received when the sender stalled', async () => {
    // the header and 4 of the 10 body bytes, then nothing
    const stalled = stallingAfter(rawHeader({ name: 'stalled.rpm', body: new Uint8Array(10) }).subarray(0, 516));
    await expect(decodeAllFrom(stalled, { ...LIMITS, idleTimeoutMs: 30 })).rejects.toMatchObject({
      code: 'TAR_TIMEOUT',
      member: 'stalled.rpm',
      message: expect.stringMatching(/^member stalled\.rpm: the sender sent nothing for 30 ms while receiving this member$/) as unknown,
    });
  });

  it('names no member when the sender stalls between members, and says which header it was waiting for', async () => {
    const stalled = stallingAfter(buildTar([{ name: 'done.rpm', body: new Uint8Array(10) }]).subarray(0, 1024));
    await expect(decodeAllFrom(stalled, { ...LIMITS, idleTimeoutMs: 30 })).rejects.toMatchObject({
      code: 'TAR_TIMEOUT',
      member: undefined,
      message: 'the sender sent nothing for 30 ms while receiving the header of member 2',
    });
    // and in the middle of a header
    const midHeader = stallingAfter(buildTar([{ name: 'done.rpm', body: new Uint8Array(10) }]).subarray(0, 1024 + 100));
    await expect(decodeAllFrom(midHeader, { ...LIMITS, idleTimeoutMs: 30 })).rejects.toMatchObject({
      code: 'TAR_TIMEOUT',
      member: undefined,
      message: 'the sender sent nothing for 30 ms while receiving the header of member 2',
    });
  });

  it('ends a sender that trickles bytes past the overall deadline', async () => {
    async function* trickle(): AsyncGenerator<Uint8Array> {
      const bytes = buildTar([{ name: 'x.rpm', body: new Uint8Array(4096) }]);
      for (const byte of bytes) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        yield Uint8Array.of(byte);
      }
    }
    await expect(decodeAllFrom(trickle(), { ...LIMITS, idleTimeoutMs: 1000, overallTimeoutMs: 60 })).rejects.toMatchObject({
      code: 'TAR_TIMEOUT',
      message: expect.stringMatching(/longer than 60 ms/) as unknown,
    });
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    const never: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => undefined) }) };
    const pending = (async () => {
      for await (const member of decodeUpdateStream(never, LIMITS, controller.signal)) expect(member).toBeUndefined();
    })();
    setTimeout(() => controller.abort(), 5);
    await expect(pending).rejects.toMatchObject({ code: 'TAR_ABORTED' });
  });

  it('reports a failing source as TAR_SOURCE_ERROR', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(100);
      await Promise.resolve();
      throw new Error('pipe broke');
    }
    await expect(decodeAllFrom(failing())).rejects.toMatchObject({ code: 'TAR_SOURCE_ERROR', message: expect.stringMatching(/pipe broke/) as unknown });
  });
});

describe('consumer contract', () => {
  it('refuses the next member while a body is unread', async () => {
    const members = decodeUpdateStream(chunks(buildTar([GOOD, { name: 'b.rpm' }])), LIMITS);
    const first = await members.next();
    expect(first.done).toBe(false);
    await expect(members.next()).rejects.toMatchObject({ code: 'TAR_BODY_NOT_CONSUMED' });
  });
});
