/**
 * Every one of the 256 type flag bytes, not a sample: "0" and NUL are regular files, "1" and "2"
 * links, everything else (devices, directories, FIFOs, contiguous files, pax x/g, GNU L/K/S/V/M/N/D,
 * the vendor range A-Z, lower-case letters, controls and high-bit bytes) is refused at its header
 * with TAR_UNSUPPORTED_TYPE, after a good member and before any body byte is yielded, also when the
 * member carries a body that a lax decoder would read as the next header.
 */
import { describe, expect, it } from 'vitest';
import { rejection, text } from './helpers.ts';
import { buildTar, rawHeader, type RawMember } from './tar-builder.ts';

const GOOD: RawMember = { name: 'good-1.0-1.noarch.rpm', body: text('good') };
const flagOf = (byte: number): string => String.fromCharCode(byte);
const hex = (byte: number): string => `0x${byte.toString(16).padStart(2, '0')}`;
const UNSUPPORTED = Array.from({ length: 256 }, (_, b) => b).filter((b) => ![0x00, 0x30, 0x31, 0x32].includes(b));

describe('every type flag byte', () => {
  it('rejects each of the 252 flags that are neither a regular file nor a link as TAR_UNSUPPORTED_TYPE, yielding only the good member', async () => {
    const wrong: string[] = [];
    for (const byte of UNSUPPORTED) {
      // the body is a whole ustar header of a regular file: read as data by us, as a member by a lax decoder
      const smuggled = rawHeader({ name: 'smuggled.rpm' });
      const { error, yielded } = await rejection(buildTar([GOOD, { name: 'x.rpm', body: smuggled, fields: { typeflag: flagOf(byte) } }]));
      if (error.code !== 'TAR_UNSUPPORTED_TYPE' || yielded.join() !== GOOD.name || !/only regular files/.test(error.message)) {
        wrong.push(`${hex(byte)}: ${error.code} ${error.message} after [${yielded.join()}]`);
      }
      expect(error.message).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    }
    expect(wrong).toEqual([]);
  });

  it('rejects every vendor type flag A-Z as TAR_UNSUPPORTED_TYPE, naming the flag', async () => {
    for (let byte = 0x41; byte <= 0x5a; byte++) {
      const { error } = await rejection(buildTar([{ name: 'x.rpm', fields: { typeflag: flagOf(byte) } }]));
      expect([hex(byte), error.code]).toEqual([hex(byte), 'TAR_UNSUPPORTED_TYPE']);
      expect(error.message).toContain(`"${flagOf(byte)}"`);
    }
  });

  it('rejects a hard or symbolic link as TAR_LINK_MEMBER whatever its size field says', async () => {
    for (const flag of ['1', '2']) {
      for (const body of [new Uint8Array(0), text('x'.repeat(600))]) {
        const { error, yielded } = await rejection(buildTar([GOOD, { name: 'x.rpm', body, fields: { typeflag: flag, linkname: '/etc/shadow' } }]));
        expect([flag, body.length, error.code, yielded]).toEqual([flag, body.length, 'TAR_LINK_MEMBER', [GOOD.name]]);
      }
    }
  });
});
