/**
 * Field-by-field variants of hostile ustar headers, each with the exact code it must produce.
 * Complements hostile.test.ts (one block per threat-catalogue entry) with the edge cases of every
 * header field and of the end-of-archive marker.
 */
import { describe, expect, it } from 'vitest';
import { encodeUpdateStream, type StreamErrorCode } from '../src/index.ts';
import { Capture, LIMITS, concat, decodeAll, rejection, text } from './helpers.ts';
import { buildTar, memberBytes, rawHeader, type FieldName, type RawMember } from './tar-builder.ts';

/** UTF-8 bytes as the latin1 string the tar builder writes byte for byte. */
const utf8 = (s: string): string => String.fromCharCode(...new TextEncoder().encode(s));

const GOOD: RawMember = { name: 'good-1.0-1.noarch.rpm', body: text('good') };

async function expectCode(bytes: Uint8Array, code: StreamErrorCode): Promise<string> {
  const { error } = await rejection(bytes);
  expect(error.code, error.message).toBe(code);
  expect(error.message).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
  return error.message;
}

function sumOf(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

describe('member names', () => {
  const rejected: [string, string][] = [
    ['uppercase .RPM', 'x.RPM'],
    ['mixed-case .Rpm', 'x.Rpm'],
    ['only the suffix', '.rpm'],
    ['a leading dash', '-x.rpm'],
    ['a leading plus', '+x.rpm'],
    ['a leading tilde', '~x.rpm'],
    ['a leading underscore', '_x.rpm'],
    ['a trailing space', 'x.rpm '],
    ['a trailing slash', 'x.rpm/'],
    ['a trailing newline', 'x.rpm\n'],
    ['a trailing dot', 'x.rpm.'],
    ['only spaces', '     '],
    ['a Cyrillic а (U+0430) confusable with a', utf8('\u0430.rpm')],
    ['a fullwidth full stop (U+FF0E)', utf8('x\uff0erpm')],
    ['a division slash (U+2215) that looks like /', utf8('a\u2215b.rpm')],
    ['a one dot leader (U+2024) that looks like .', utf8('x\u2024rpm')],
    ['NFC é', utf8('caf\u00e9.rpm')],
    ['NFD e + combining acute', utf8('cafe\u0301.rpm')],
    ['a zero-width space', utf8('a\u200b.rpm')],
    ['a right-to-left override', utf8('x\u202empr.exe')],
    ['an overlong UTF-8 encoding of /', 'a\xc0\xafb.rpm'],
    ['a tab', 'a\tb.rpm'],
    ['a CSI escape sequence', 'a\x1b[2Jb.rpm'],
    ['an OSC title sequence', 'a\x1b]0;pwned\x07.rpm'],
    ['a colon (drive-letter forms)', 'C:x.rpm'],
    ['a backslash', 'a\\b.rpm'],
  ];
  for (const [what, name] of rejected) {
    it(`rejects a name with ${what} as TAR_BAD_NAME`, async () => {
      const { error, yielded } = await rejection(buildTar([GOOD, { name, body: text('x') }]));
      expect(error.code, error.message).toBe('TAR_BAD_NAME');
      expect(yielded).toEqual([GOOD.name]);
      expect(error.member ?? '').toMatch(/^[\x20-\x7e…]*$/);
    });
  }

  it('rejects trailing garbage after the NUL terminator (a.rpm\\0evil) and names the whole field', async () => {
    expect(await expectCode(buildTar([{ name: 'a.rpm\0evil', body: text('x') }]), 'TAR_BAD_NAME')).toMatch(/after a NUL/);
    const { error } = await rejection(buildTar([{ name: 'a.rpm\0../../x\x1b', body: text('x') }]));
    expect(error.code).toBe('TAR_BAD_NAME');
    // never reported as a member called "a.rpm"
    expect(error.member).toBe('a.rpm\\x00../../x\\x1b');
  });

  it('rejects a single non-NUL byte at the very end of the name field', async () => {
    await expectCode(buildTar([{ name: `a.rpm${'\0'.repeat(94)}x`, body: text('x') }]), 'TAR_BAD_NAME');
  });

  it('accepts a name of exactly 100 bytes with no NUL terminator, and of 99 with one', async () => {
    for (const name of [`${'a'.repeat(96)}.rpm`, `${'b'.repeat(95)}.rpm`]) {
      expect(await decodeAll(buildTar([{ name, body: text('x') }]))).toEqual([{ name, bytes: text('x') }]);
    }
  });

  it('rejects a 101-byte name that spills into the mode field', async () => {
    const block = rawHeader({ name: 'x.rpm', body: text('x') });
    block.set(text(`${'a'.repeat(97)}.rpm`), 0);
    block.fill(0x20, 148, 156);
    block.set(text(`${sumOf(block).toString(8).padStart(6, '0')}\0 `), 148);
    await expectCode(concat([block, text('x'), new Uint8Array(511), new Uint8Array(1024)]), 'TAR_BAD_NUMBER');
  });

  it('rejects a name cut at 100 bytes that then does not end in .rpm', async () => {
    await expectCode(buildTar([{ name: `${'a'.repeat(99)}.rpm`, body: text('x') }]), 'TAR_BAD_NAME');
  });

  it('accepts the characters the rule allows after the first', async () => {
    const name = '0aZ._+^~-9.rpm';
    expect(await decodeAll(buildTar([{ name, body: text('x') }]))).toEqual([{ name, bytes: text('x') }]);
  });
});

describe('duplicates', () => {
  it('rejects a name that differs from an earlier one only in letter case', async () => {
    const { error, yielded } = await rejection(buildTar([{ name: 'Foo-1.0.rpm' }, { name: 'foo-1.0.rpm' }]));
    expect(error.code).toBe('TAR_DUPLICATE_NAME');
    expect(error.message).toMatch(/only in letter case.*Foo-1\.0\.rpm/);
    expect(yielded).toEqual(['Foo-1.0.rpm']);
  });

  it('rejects a case-only duplicate that is not adjacent', async () => {
    const { error } = await rejection(buildTar([{ name: 'a.rpm' }, { name: 'b.rpm' }, { name: 'c.rpm' }, { name: 'B.RPM'.replace('RPM', 'rpm') }]));
    expect(error.code).toBe('TAR_DUPLICATE_NAME');
    expect(error.member).toBe('B.rpm');
  });

  it('rejects a byte-identical duplicate with the plain message', async () => {
    const { error } = await rejection(buildTar([{ name: 'a.rpm' }, { name: 'a.rpm' }]));
    expect(error.code).toBe('TAR_DUPLICATE_NAME');
    expect(error.message).toMatch(/appears twice/);
  });

  it('accepts names that differ in more than case', async () => {
    expect((await decodeAll(buildTar([{ name: 'a1.rpm' }, { name: 'a-1.rpm' }, { name: 'a_1.rpm' }]))).map((m) => m.name)).toEqual([
      'a1.rpm',
      'a-1.rpm',
      'a_1.rpm',
    ]);
  });

  it('the encoder refuses case-only duplicates before writing anything', async () => {
    const out = new Capture();
    await expect(
      encodeUpdateStream(
        [
          { name: 'Foo.rpm', size: 0, body: [] },
          { name: 'foo.rpm', size: 0, body: [] },
        ],
        out,
      ),
    ).rejects.toMatchObject({ code: 'ENCODE_DUPLICATE_NAME', message: expect.stringMatching(/letter case/) as unknown });
    expect(out.bytes).toHaveLength(0);
  });
});

describe('numeric fields', () => {
  const garbage: [string, string | Uint8Array][] = [
    ['an embedded space', '00000 000012'],
    ['an embedded NUL', '00000\x00000012'],
    ['only spaces', ' '.repeat(12)],
    ['only NULs', '\0'.repeat(12)],
    ['a leading space', ' 0000000012 '],
    ['a leading plus', '+0000000012\0'],
    ['a leading minus', '-0000000012\0'],
    ['the digit 9', '00000000019\0'],
    ['hex', '0x0000000ff\0'],
    ['a decimal point', '0000000001.2'],
    ['base-256 with the sign bit (negative)', Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x00])],
    ['base-256 positive', Uint8Array.from([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3])],
    ['a tab terminator', '00000000003\t'],
    ['a newline terminator', '00000000003\n'],
  ];
  for (const [what, value] of garbage) {
    it(`rejects a size field with ${what} as TAR_BAD_NUMBER`, async () => {
      expect(await expectCode(buildTar([{ name: 'x.rpm', body: text('abc'), fields: { size: value } }]), 'TAR_BAD_NUMBER')).toMatch(/size field/);
    });
  }

  const otherGarbage: [string, string][] = [
    ['only spaces', '        '],
    ['an embedded space', '000 0644'],
    ['an embedded NUL', '000\x000644'],
    ['a leading space', ' 000644\0'],
    ['a sign', '-000644\0'],
    ['the digit 8', '0000648\0'],
    ['empty', '\0\0\0\0\0\0\0\0'],
  ];
  for (const field of ['mode', 'uid', 'gid', 'mtime'] as const) {
    for (const [what, value] of otherGarbage) {
      it(`rejects a ${field} field with ${what} even though ${field} is otherwise ignored`, async () => {
        const padded = field === 'mtime' ? value.padEnd(12, '\0') : value;
        expect(await expectCode(buildTar([{ name: 'x.rpm', fields: { [field]: padded } }]), 'TAR_BAD_NUMBER')).toContain(`${field} field`);
      });
    }
  }

  it('names digits after a terminator as bytes past the number, not as non-octal', async () => {
    const message = await expectCode(buildTar([{ name: 'x.rpm', body: text('abc'), fields: { size: '0000003\0\x0050\0' } }]), 'TAR_BAD_NUMBER');
    expect(message).toContain('digit "5" at offset 9 after the number ended at offset 7');
    expect(message).not.toContain('non-octal');
  });

  it('names a non-octal byte after a terminator as non-octal', async () => {
    expect(await expectCode(buildTar([{ name: 'x.rpm', body: text('abc'), fields: { size: '0000003\0\x00x\0\0' } }]), 'TAR_BAD_NUMBER')).toContain(
      'non-octal character "x" at offset 9',
    );
  });

  it('accepts a 12-digit size with no terminator', async () => {
    expect(await decodeAll(buildTar([{ name: 'x.rpm', body: text('abc'), fields: { size: '000000000003' } }]))).toEqual([
      { name: 'x.rpm', bytes: text('abc') },
    ]);
  });

  it('rejects the largest 12-digit size against the member limit, not as a number error', async () => {
    expect(await expectCode(buildTar([{ name: 'x.rpm', fields: { size: '777777777777' } }]), 'TAR_MEMBER_TOO_LARGE')).toContain(
      String(0o777777777777),
    );
  });

  it('accepts an 8-digit mode with no terminator and a mode with setuid bits (ignored)', async () => {
    for (const mode of ['00000644', '0004755\0']) {
      expect(await decodeAll(buildTar([{ name: 'x.rpm', fields: { mode } }]))).toHaveLength(1);
    }
  });
});

describe('checksum field', () => {
  const member: RawMember = { name: 'x.rpm', body: text('abc') };
  const sum = sumOf(rawHeader(member));
  const accepted: [string, string][] = [
    ['6 digits, NUL, space (traditional)', `${sum.toString(8).padStart(6, '0')}\0 `],
    ['7 digits and a space', `${sum.toString(8).padStart(7, '0')} `],
    ['7 digits and a NUL (POSIX)', `${sum.toString(8).padStart(7, '0')}\0`],
    ['8 digits, no terminator', sum.toString(8).padStart(8, '0')],
    ['6 digits, space, NUL', `${sum.toString(8).padStart(6, '0')} \0`],
  ];
  for (const [what, checksum] of accepted) {
    it(`accepts ${what}`, async () => {
      expect(await decodeAll(buildTar([{ ...member, checksum }]))).toEqual([{ name: 'x.rpm', bytes: text('abc') }]);
    });
  }
  const rejected: [string, string][] = [
    ['leading spaces (old BSD style)', `${sum.toString(8).padStart(6, ' ')}\0 `],
    ['all spaces', '        '],
    ['all NULs', '\0'.repeat(8)],
    ['the sum plus one', `${(sum + 1).toString(8).padStart(6, '0')}\0 `],
    ['the sum minus one', `${(sum - 1).toString(8).padStart(6, '0')}\0 `],
    ['a digit after the terminator', `${sum.toString(8).padStart(6, '0')}\x007`],
    ['the sum in decimal', `${String(sum).padStart(6, '0')}\0 `],
  ];
  for (const [what, checksum] of rejected) {
    it(`rejects a checksum with ${what}`, async () => {
      await expectCode(buildTar([{ ...member, checksum }]), 'TAR_BAD_CHECKSUM');
    });
  }
});

describe('type flags', () => {
  it('accepts "0" and NUL as regular files', async () => {
    for (const typeflag of ['0', '\0']) {
      expect(await decodeAll(buildTar([{ name: 'x.rpm', body: text('a'), fields: { typeflag } }]))).toHaveLength(1);
    }
  });

  const links = ['1', '2'];
  for (const typeflag of links) {
    it(`rejects type ${typeflag} as TAR_LINK_MEMBER`, async () => {
      await expectCode(buildTar([GOOD, { name: 'x.rpm', fields: { typeflag } }]), 'TAR_LINK_MEMBER');
    });
  }

  const others = [
    ...'34567xgLKSVMNDAXIE'.split(''),
    ...'abcdefhijklmnopqrstuvwyz'.split(''),
    '8',
    '9',
    ' ',
    '\x80',
    '\xff',
    '\x1b',
  ];
  for (const typeflag of others) {
    it(`rejects type flag 0x${typeflag.charCodeAt(0).toString(16).padStart(2, '0')} as TAR_UNSUPPORTED_TYPE`, async () => {
      expect(await expectCode(buildTar([GOOD, { name: 'x.rpm', body: text('abc'), fields: { typeflag } }]), 'TAR_UNSUPPORTED_TYPE')).toMatch(
        /only regular files/,
      );
    });
  }
});

describe('magic and version', () => {
  const variants: [string, string, string][] = [
    ['GNU "ustar  \\0"', 'ustar ', ' \0'],
    ['"ustar\\0" with version " \\0"', 'ustar\0', ' \0'],
    ['"ustar\\0" with version NUL NUL', 'ustar\0', '\0\0'],
    ['"ustar\\0" with version "0\\0"', 'ustar\0', '0\0'],
    ['"ustar " with version "00"', 'ustar ', '00'],
    ['V7 (no magic at all)', '\0\0\0\0\0\0', '\0\0'],
    ['"ustar" without its NUL', 'ustarx', '00'],
  ];
  for (const [what, magic, version] of variants) {
    it(`rejects ${what} as TAR_BAD_MAGIC`, async () => {
      await expectCode(buildTar([{ name: 'x.rpm', fields: { magic, version } }]), 'TAR_BAD_MAGIC');
    });
  }
});

describe('owner names, device numbers, prefix and reserved bytes', () => {
  const headerCases: [string, Partial<Record<FieldName, string>>][] = [
    ['a uname with ESC', { uname: 'ro\x1bot' }],
    ['a uname with a space', { uname: 'ro ot' }],
    ['a uname with a non-ASCII byte', { uname: 'r\xc3\xb6t' }],
    ['a gname of 32 bytes without a NUL', { gname: 'g'.repeat(32) }],
    ['a gname with bytes after its NUL', { gname: 'wheel\0x' }],
    ['a gname with DEL', { gname: 'a\x7f' }],
    ['a devmajor of 1', { devmajor: '0000001\0' }],
    ['a devminor of 1', { devminor: '0000001\0' }],
    ['a devmajor of garbage', { devmajor: 'abc' }],
    ['a devminor of spaces', { devminor: '        ' }],
    ['a reserved byte at offset 511', { pad: '\0'.repeat(11) + 'x' }],
  ];
  for (const [what, fields] of headerCases) {
    it(`rejects ${what} as TAR_BAD_HEADER`, async () => {
      await expectCode(buildTar([{ name: 'x.rpm', fields }]), 'TAR_BAD_HEADER');
    });
  }

  it('accepts GNU tar style owner names and empty or zero device numbers', async () => {
    const fields = [
      { uname: 'root', gname: 'root' },
      { uname: 'u'.repeat(31), gname: '' },
      { devmajor: '', devminor: '' },
      { devmajor: '0000000 ', devminor: '00000000' },
    ];
    for (const f of fields) expect(await decodeAll(buildTar([{ name: 'x.rpm', fields: f }]))).toHaveLength(1);
  });

  it('rejects any byte in the prefix field as TAR_BAD_NAME', async () => {
    for (const prefix of ['x', `${'\0'.repeat(154)}x`, '.', '/']) {
      await expectCode(buildTar([{ name: 'x.rpm', fields: { prefix } }]), 'TAR_BAD_NAME');
    }
  });

  it('rejects a single byte in the link name of a regular file as TAR_LINK_MEMBER', async () => {
    await expectCode(buildTar([{ name: 'x.rpm', fields: { linkname: `${'\0'.repeat(99)}x` } }]), 'TAR_LINK_MEMBER');
  });
});

describe('order of checks (SPEC.md §3.4): the first failing check decides', () => {
  const cases: [string, RawMember, StreamErrorCode][] = [
    ['bad checksum before bad magic', { name: 'x.rpm', fields: { magic: 'ustar ' }, checksum: '0\0' }, 'TAR_BAD_CHECKSUM'],
    ['bad magic before a link type', { name: 'x.rpm', fields: { magic: 'ustar ', typeflag: '2' } }, 'TAR_BAD_MAGIC'],
    ['a link type before a garbage size', { name: 'x.rpm', fields: { typeflag: '2', size: 'zzz' } }, 'TAR_LINK_MEMBER'],
    ['a pax type before a garbage size', { name: 'x.rpm', fields: { typeflag: 'x', size: 'zzz' } }, 'TAR_UNSUPPORTED_TYPE'],
    ['a garbage size before a link name', { name: 'x.rpm', fields: { size: 'zzz', linkname: 'y' } }, 'TAR_BAD_NUMBER'],
    ['a link name before a bad uname', { name: 'x.rpm', fields: { linkname: 'y', uname: '\x1b' } }, 'TAR_LINK_MEMBER'],
    ['a bad uname before a prefix', { name: 'x.rpm', fields: { uname: '\x1b', prefix: 'p' } }, 'TAR_BAD_HEADER'],
    ['a prefix before reserved bytes', { name: 'x.rpm', fields: { prefix: 'p', pad: 'x' } }, 'TAR_BAD_NAME'],
    ['reserved bytes before a bad name', { name: '../x.rpm', fields: { pad: 'x' } }, 'TAR_BAD_HEADER'],
  ];
  for (const [what, member, code] of cases) {
    it(what, async () => {
      await expectCode(buildTar([member]), code);
    });
  }

  it('a bad name before a duplicate, a duplicate before the member count, the count before the size, the size before the total', async () => {
    const limits = { ...LIMITS, maxMembers: 1, maxMemberBytes: 10, maxTotalBytes: 5 };
    const big = new Uint8Array(20);
    const run = async (members: RawMember[]): Promise<StreamErrorCode> => (await rejection(buildTar(members), limits)).error.code;
    expect(await run([{ name: 'a.rpm' }, { name: 'A.RPM', body: big }])).toBe('TAR_BAD_NAME');
    expect(await run([{ name: 'a.rpm' }, { name: 'A.rpm', body: big }])).toBe('TAR_DUPLICATE_NAME');
    expect(await run([{ name: 'a.rpm' }, { name: 'b.rpm', body: big }])).toBe('TAR_TOO_MANY_MEMBERS');
    expect(await run([{ name: 'b.rpm', body: big }])).toBe('TAR_MEMBER_TOO_LARGE');
    expect(await run([{ name: 'b.rpm', body: new Uint8Array(6) }])).toBe('TAR_TOO_MANY_BYTES');
  });
});

describe('end of archive', () => {
  const marker = new Uint8Array(1024);
  const withTail = (tail: Uint8Array): Uint8Array => buildTar([GOOD], concat([marker, tail]));

  it('accepts exactly 10240 zero bytes after the marker, and a short zero tail', async () => {
    expect(await decodeAll(withTail(new Uint8Array(10240)), LIMITS, 333)).toHaveLength(1);
    expect(await decodeAll(withTail(new Uint8Array(7)))).toHaveLength(1);
  });

  it('rejects 10241 zero bytes after the marker', async () => {
    expect((await rejection(withTail(new Uint8Array(10241)), LIMITS, 4096)).error.code).toBe('TAR_TRAILING_DATA');
  });

  it('rejects a non-zero byte at position 10239 after the marker', async () => {
    const tail = new Uint8Array(10240);
    tail[10239] = 1;
    expect((await rejection(withTail(tail))).error.code).toBe('TAR_TRAILING_DATA');
  });

  it('rejects a non-zero byte right after the marker', async () => {
    expect((await rejection(withTail(Uint8Array.of(0x75)))).error.code).toBe('TAR_TRAILING_DATA');
  });

  it('rejects a valid member after three zero blocks (entries "resurrected" after EOF)', async () => {
    const { error, yielded } = await rejection(withTail(concat([new Uint8Array(512), ...memberBytes({ name: 'late.rpm', body: text('x') })])));
    expect(error.code).toBe('TAR_TRAILING_DATA');
    expect(yielded).toEqual([GOOD.name]);
  });

  it('rejects one zero block followed by a valid member as TAR_MISSING_END', async () => {
    const bytes = concat([...memberBytes(GOOD), new Uint8Array(512), ...memberBytes({ name: 'b.rpm', body: text('b') }), marker]);
    const { error, yielded } = await rejection(bytes);
    expect(error.code).toBe('TAR_MISSING_END');
    expect(yielded).toEqual([GOOD.name]);
  });

  it('rejects a partial second zero block as TAR_TRUNCATED', async () => {
    expect((await rejection(concat([...memberBytes(GOOD), new Uint8Array(512 + 300)]))).error.code).toBe('TAR_TRUNCATED');
  });

  it('rejects a stream of only one zero block as TAR_MISSING_END', async () => {
    expect((await rejection(new Uint8Array(512))).error.code).toBe('TAR_MISSING_END');
  });

  it('accepts an empty archive (just the marker)', async () => {
    expect(await decodeAll(marker)).toEqual([]);
  });
});
