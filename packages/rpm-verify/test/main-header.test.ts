import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { RpmVerifyError } from '../src/errors.ts';
import { loadKeyring, type Keyring } from '../src/pgp/keyring.ts';
import { fixtures } from './support/fixtures.ts';
import { forgePackage, generateEdKey, stringEntry, withEntry, withoutEntry, type ForgeOptions, type TestKey } from './support/forge.ts';
import { str, u32, u64, type RawEntry } from './support/header-builder.ts';
import { splitPackage, type PackageParts } from './support/package-bytes.ts';
import { outcome, verifyBytes } from './support/verify-bytes.ts';

let ed: PackageParts;
let key: TestKey;
let keyring: Keyring;
beforeAll(async () => {
  const fx = await fixtures();
  ed = splitPackage(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-ed25519')!.path));
  key = await generateEdKey();
  keyring = await loadKeyring([key.armoredPublic]);
}, 300_000);

/** The fixture is dom0-tool 2.0-1 noarch, no epoch. */
const forged = (opts: ForgeOptions) => forgePackage(ed, key.primary, opts);
const signedWith = (...edits: ((es: RawEntry[]) => RawEntry[])[]) => (es: RawEntry[]) => edits.reduce((acc, f) => f(acc), es);

describe('signed main-header content (re-signed by a pinned test key, so only the rule under test fails)', () => {
  it('rejects NEVRA fields with control characters, path separators or other characters rpm does not allow', async () => {
    const cases: [number, string][] = [
      [1000, 'evil\u001b[31m'],
      [1000, '../evil'],
      [1000, 'a/b'],
      [1000, '.hidden'],
      [1000, '-dash'],
      [1000, 'sp ace'],
      [1000, ''],
      [1000, 'caf\u00e9'],
      [1001, '2.0-1'],
      [1001, '2/0'],
      [1002, '1\n'],
      [1022, 'noarch/..'],
      // a dot in ARCH would let the file name <n>-<v>-<r>.<arch>.rpm split two ways
      [1022, 'noarch.x86_64'],
      [1022, '.'],
    ];
    for (const [tag, value] of cases) {
      const b = forged({ main: withEntry(stringEntry(tag, value)) });
      let code = 'ACCEPTED';
      let message = '';
      try {
        await verifyBytes(b, keyring);
      } catch (err) {
        if (!(err instanceof RpmVerifyError)) throw err;
        code = err.code;
        message = err.message;
      }
      // the lead still names the old NEVR, but the header is checked first
      expect(code).toBe('RPM_NEVRA_BAD');
      expect(message).not.toMatch(/[\u0000-\u001f\u007f-\uffff]/);
    }
  });

  it('refuses a value longer than its field before decoding it, naming its length', async () => {
    const failure = async (opts: ForgeOptions): Promise<string> => {
      try {
        await verifyBytes(forged(opts), keyring);
        return 'ACCEPTED';
      } catch (err) {
        if (!(err instanceof RpmVerifyError)) throw err;
        return `${err.code} ${err.message.replace(`test.rpm: ${err.code}: `, '')}`;
      }
    };
    const cases: [ForgeOptions, string][] = [
      [{ main: withEntry(stringEntry(1000, 'a'.repeat(257))) }, 'RPM_NEVRA_BAD main header: tag 1000 holds 257 bytes, more than the 256'],
      [{ main: withEntry(stringEntry(1001, '1'.repeat(256))) }, 'RPM_NEVRA_BAD main header: tag 1001 holds 256 bytes, more than the 255'],
      [{ main: withEntry(stringEntry(1002, '1'.repeat(256))) }, 'RPM_NEVRA_BAD main header: tag 1002 holds 256 bytes, more than the 255'],
      [{ main: withEntry(stringEntry(1022, 'x'.repeat(65))) }, 'RPM_NEVRA_BAD main header: tag 1022 holds 65 bytes, more than the 64'],
      [{ main: withEntry(stringEntry(1125, 'z'.repeat(1 << 20))) }, 'RPM_PAYLOAD_FORMAT main header: tag 1125 holds 1048576 bytes, more than the 16'],
      [{ main: withEntry({ tag: 5092, type: 8, count: 1, data: str('a'.repeat(65)) }) }, 'RPM_PAYLOAD_DIGEST_ALGO main header: tag 5092 holds 65 bytes, more than the 64'],
      [{ sig: withEntry(stringEntry(273, 'a'.repeat(1 << 20))) }, 'RPM_SIG_TAG_BAD signature header: tag 273 holds 1048576 bytes, more than the 64'],
      [{ sig: withEntry(stringEntry(269, 'a'.repeat(41))) }, 'RPM_SIG_TAG_BAD signature header: tag 269 holds 41 bytes, more than the 40'],
    ];
    for (const [opts, expected] of cases) expect(await failure(opts)).toContain(expected);
    // the longest NAME the pattern allows is still read (and then held to the lead, which rpm cuts)
    const longest = 'a'.repeat(256);
    expect(await failure({ main: withEntry(stringEntry(1000, longest)), leadName: `${longest}-2.0-1` })).toBe('ACCEPTED');
  });

  it('rejects NEVRA fields of the wrong type', async () => {
    const asArray = { tag: 1000, type: 8, count: 1, data: str('dom0-tool') };
    expect(await outcome(forged({ main: withEntry(asArray) }), keyring)).toBe('RPM_NEVRA_BAD');
    const asI18n = { tag: 1000, type: 9, count: 1, data: str('dom0-tool') };
    expect(await outcome(forged({ main: withEntry(asI18n) }), keyring)).toBe('RPM_NEVRA_BAD');
    expect(await outcome(forged({ main: withoutEntry(1001) }), keyring)).toBe('RPM_NEVRA_BAD');
  });

  it('rejects a tag rpm knows carrying another type than rpm expects, as rpm does', async () => {
    const cases: RawEntry[] = [
      { tag: 1006, type: 5, count: 1, data: u64(1700000000n) }, // BUILDTIME as INT64
      { tag: 1006, type: 3, count: 2, data: Buffer.from([0, 1, 0, 2]) }, // BUILDTIME as INT16 x2
      { tag: 1044, type: 4, count: 1, data: u32(7) }, // SOURCERPM as INT32
      { tag: 1044, type: 7, count: 4, data: Buffer.from('x.rpm'.slice(0, 4)) }, // SOURCERPM as BIN
      { tag: 100, type: 4, count: 1, data: u32(1) }, // I18NTABLE as INT32
      { tag: 1009, type: 5, count: 1, data: u64(4096n) }, // SIZE as INT64
      { tag: 1029, type: 2, count: 1, data: Buffer.from([0]) }, // FILESTATES (CHAR) as INT8: rpm keeps the two apart
      { tag: 1010, type: 7, count: 6, data: Buffer.from('distro') }, // DISTRIBUTION as BIN
    ];
    for (const entry of cases) {
      expect([entry.tag, entry.type, await outcome(forged({ main: withEntry(entry) }), keyring)]).toEqual([entry.tag, entry.type, 'RPM_HEADER_TYPE_BAD']);
    }
  });

  it('accepts any string type for a string tag, in either direction, as rpm does (rpmbuild writes PREINPROG as STRING)', async () => {
    const cases: RawEntry[] = [
      { tag: 1085, type: 6, count: 1, data: str('/bin/sh') }, // PREINPROG (string array) as STRING: what rpmbuild writes for %pre
      { tag: 1010, type: 8, count: 1, data: str('distro') }, // DISTRIBUTION (string) as a string array
      { tag: 1004, type: 6, count: 1, data: str('summary') }, // SUMMARY (i18n string) as STRING
      { tag: 1081, type: 9, count: 1, data: str('someone') }, // CHANGELOGNAME (string array) as I18NSTRING
    ];
    for (const entry of cases) {
      expect([entry.tag, (await verifyBytes(forged({ main: withEntry(entry) }), keyring)).nevraString]).toEqual([entry.tag, 'dom0-tool-2.0-1.noarch']);
    }
  });

  it('accepts a STRING tag written as I18NSTRING and a tag rpm does not know in any type, as rpm does', async () => {
    await expect(verifyBytes(forged({ main: withEntry({ tag: 1010, type: 9, count: 1, data: str('distro') }) }), keyring)).resolves.toMatchObject({ nevraString: 'dom0-tool-2.0-1.noarch' });
    await expect(verifyBytes(forged({ main: withEntry({ tag: 4999, type: 5, count: 1, data: u64(1n) }) }), keyring)).resolves.toMatchObject({ nevraString: 'dom0-tool-2.0-1.noarch' });
  });

  it('treats an absent epoch as 0, accepts an explicit one with the lead rpm writes (N-E:V-R) and no other, and bounds it', async () => {
    const none = await verifyBytes(forged({}), keyring);
    expect(none.nevra.epoch).toBe(0);
    const zero = await verifyBytes(forged({ main: withEntry({ tag: 1003, type: 4, count: 1, data: u32(0) }), leadName: 'dom0-tool-0:2.0-1' }), keyring);
    expect(zero.nevra.epoch).toBe(0);
    expect(zero.nevraString).toBe(none.nevraString);
    const five = await verifyBytes(forged({ main: withEntry({ tag: 1003, type: 4, count: 1, data: u32(5) }), leadName: 'dom0-tool-5:2.0-1' }), keyring);
    expect(five.nevra.epoch).toBe(5);
    expect(five.nevraString).toBe('dom0-tool-5:2.0-1.noarch');
    // an epoch the lead does not name
    expect(await outcome(forged({ main: withEntry({ tag: 1003, type: 4, count: 1, data: u32(5) }), leadName: 'dom0-tool-6:2.0-1' }), keyring)).toBe('RPM_LEAD_NAME_MISMATCH');
    // nor a lead without the epoch: rpm writes N-E:V-R whenever there is an EPOCH tag (0 included),
    // so N-V-R would be a second file for the same signed header and payload
    expect(await outcome(forged({ main: withEntry({ tag: 1003, type: 4, count: 1, data: u32(5) }), leadName: 'dom0-tool-2.0-1' }), keyring)).toBe('RPM_LEAD_NAME_MISMATCH');
    expect(await outcome(forged({ main: withEntry({ tag: 1003, type: 4, count: 1, data: u32(0) }), leadName: 'dom0-tool-2.0-1' }), keyring)).toBe('RPM_LEAD_NAME_MISMATCH');
    expect(await outcome(forged({ main: withEntry({ tag: 1003, type: 4, count: 1, data: u32(0x80000000) }), leadName: 'dom0-tool-2147483648:2.0-1' }), keyring)).toBe('RPM_NEVRA_BAD');
    // rpm stores EPOCH unsigned; the message also shows the signed form a packager may have meant
    await expect(verifyBytes(forged({ main: withEntry({ tag: 1003, type: 4, count: 1, data: u32(0xffffffff) }), leadName: 'dom0-tool-4294967295:2.0-1' }), keyring)).rejects.toThrow(
      'EPOCH 4294967295 (as a signed number -1) is out of range 0 to 2147483647',
    );
    expect(await outcome(forged({ main: withEntry({ tag: 1003, type: 5, count: 1, data: u64(5n) }), leadName: 'dom0-tool-5:2.0-1' }), keyring)).toBe('RPM_NEVRA_BAD');
    expect(await outcome(forged({ main: withEntry({ tag: 1003, type: 4, count: 2, data: u32(5, 6) }), leadName: 'dom0-tool-5:2.0-1' }), keyring)).toBe('RPM_NEVRA_BAD');
  });

  it('compares the lead name with the signed NEVR, cut to 65 bytes as rpm writes it', async () => {
    const long = `n${'x'.repeat(80)}`;
    const b = forged({ main: withEntry(stringEntry(1000, long)), leadName: `${long}-2.0-1` });
    expect((await verifyBytes(b, keyring)).nevra.name).toBe(long);
    expect(await outcome(forged({ main: withEntry(stringEntry(1000, 'other')) }), keyring)).toBe('RPM_LEAD_NAME_MISMATCH');
    expect(await outcome(forged({ leadName: 'dom0-tool-2.0-2' }), keyring)).toBe('RPM_LEAD_NAME_MISMATCH');
    // a prefix of the signed NEVR is not a match
    expect(await outcome(forged({ leadName: 'dom0-tool-2.0-' }), keyring)).toBe('RPM_LEAD_NAME_MISMATCH');
    expect(await outcome(forged({ leadName: 'd' }), keyring)).toBe('RPM_LEAD_NAME_MISMATCH');
  });

  it('allows only the cpio payload format and the compressors rpm 4.18 unpacks, or none (an uncompressed payload)', async () => {
    for (const compressor of ['gzip', 'bzip2', 'xz', 'lzma', 'zstd']) {
      expect([compressor, await outcome(forged({ main: withEntry(stringEntry(1125, compressor)) }), keyring)]).toEqual([compressor, 'ACCEPTED']);
    }
    expect(await outcome(forged({ main: withoutEntry(1125) }), keyring)).toBe('ACCEPTED');
    for (const compressor of ['rot13', '', 'lzip', 'lz4', 'zlib', 'ufdio', 'ZSTD', 'gzip ']) {
      expect([compressor, await outcome(forged({ main: withEntry(stringEntry(1125, compressor)) }), keyring)]).toEqual([compressor, 'RPM_PAYLOAD_FORMAT']);
    }
    for (const edit of [withEntry(stringEntry(1124, 'drpm')), withEntry(stringEntry(1124, 'ustar')), withoutEntry(1124)]) {
      expect(await outcome(forged({ main: edit }), keyring)).toBe('RPM_PAYLOAD_FORMAT');
    }
    const asArray = { tag: 1125, type: 8, count: 1, data: str('gzip') };
    expect(await outcome(forged({ main: withEntry(asArray) }), keyring)).toBe('RPM_PAYLOAD_FORMAT');
  });

  it('rejects a payload digest that is not SHA-256, not lowercase hex, or not exactly one string', async () => {
    expect(await outcome(forged({ main: withEntry({ tag: 5093, type: 4, count: 1, data: u32(2) }) }), keyring)).toBe('RPM_PAYLOAD_DIGEST_ALGO');
    const upper = (es: RawEntry[]) => es.map((e) => (e.tag === 5092 ? { ...e, data: Buffer.from(Buffer.from(e.data).toString('latin1').toUpperCase(), 'latin1') } : e));
    expect(await outcome(forged({ main: upper }), keyring)).toBe('RPM_PAYLOAD_DIGEST_ALGO');
    const two = (es: RawEntry[]) => es.map((e) => (e.tag === 5092 ? { ...e, count: 2, data: Buffer.concat([Buffer.from(e.data), Buffer.from(e.data)]) } : e));
    expect(await outcome(forged({ main: two }), keyring)).toBe('RPM_PAYLOAD_DIGEST_ALGO');
    expect(await outcome(forged({ main: withoutEntry(5092) }), keyring)).toBe('RPM_PAYLOAD_DIGEST_MISSING');
  });

  it('rejects a validly signed source package and signature tags inside a validly signed main header', async () => {
    expect(await outcome(forged({ main: withoutEntry(1044) }), keyring)).toBe('RPM_NOT_BINARY');
    for (const tag of [256, 257, 261, 267, 268, 269, 273, 999]) {
      expect(await outcome(forged({ main: withEntry({ tag, type: 7, count: 4, data: Buffer.alloc(4) }) }), keyring)).toBe('RPM_SIG_IN_MAIN_HEADER');
    }
    expect(await outcome(forged({ main: withEntry({ tag: 99, type: 7, count: 1, data: Buffer.alloc(1) }) }), keyring)).toBe('RPM_MAIN_TAG_NOT_ALLOWED');
    expect(await outcome(forged({ main: signedWith(withEntry({ tag: 100, type: 8, count: 1, data: str('C') })) }), keyring)).toBe('ACCEPTED');
  });
});
