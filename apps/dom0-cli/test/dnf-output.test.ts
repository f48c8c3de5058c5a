import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DnfOutputText } from '../src/dnf-output.ts';

/** All of `chunks` through one filter, as dnf's pipe delivers them. */
function through(chunks: readonly Uint8Array[]): string[] {
  const text = new DnfOutputText();
  return [...chunks.map((chunk) => text.push(chunk)), text.end()];
}

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

describe("dom0's dnf output as it is shown", () => {
  it('passes plain lines, tabs and non-ASCII text as dnf wrote them', () => {
    const line = 'Upgrading:\n dom0-tool\tnoarch  2.0-1  café\n';
    expect(through([utf8(line)]).join('')).toBe(line);
  });

  it('escapes escape sequences, C1 controls, carriage returns and bidi overrides', () => {
    const shown = through([utf8('nothing provides dom0-\u009b31m\u202eevil\x1b]0;title\x07 needed\r\n')]).join('');
    expect(shown).toBe('nothing provides dom0-\\x9b31m\\u202eevil\\x1b]0;title\\x07 needed\\x0d\n');
  });

  it('shows a prompt without a newline at once, so it is seen while dnf waits for the answer', () => {
    expect(through([utf8('Is this ok [y/N]: ')])[0]).toBe('Is this ok [y/N]: ');
  });

  it('holds the start of a UTF-8 sequence cut by a chunk until the rest comes, and no more', () => {
    const bytes = utf8('a\u009bb\u202ec');
    // \u009b is c2 9b, \u202e is e2 80 ae
    expect(through([bytes.subarray(0, 2), bytes.subarray(2, 5), bytes.subarray(5)])).toEqual(['a', '\\x9bb', '\\u202ec', '']);
  });

  it('shows a sequence dnf never finished escaped at the end, byte by byte', () => {
    expect(through([utf8('x'), Uint8Array.of(0xe2, 0x80)])).toEqual(['x', '', '\\xe2\\x80']);
  });

  it('escapes bytes that are not UTF-8', () => {
    expect(through([Uint8Array.of(0x61, 0xff, 0x0a, 0xc0, 0x80)]).join('')).toBe('a\\xff\n\\xc0\\x80');
  });

  it('never lets a raw control or bidi character through, however the bytes are cut into chunks', () => {
    const piece = fc.constantFrom('a', 'é', '\n', '\t', '\r', '\x1b', '\u009b', '\u202e', '\u2067', '€', '𝄞', '\x00', '\x7f');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 6 }), (pieces, cuts) => {
        const bytes = utf8(pieces.join(''));
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...at].map((start, i) => bytes.subarray(start, at[i] ?? bytes.length));
        const shown = through(chunks).join('');
        expect(shown).not.toMatch(RAW_CONTROL);
        // the cut changes nothing: the same bytes in one chunk are shown the same
        expect(shown).toBe(through([bytes]).join(''));
      }),
      { seed: 20261207, numRuns: 500 },
    );
  });
});

describe("dom0's dnf output as it is shown", () => {
  it('shows a long line of dnf whole, with nothing cut, however long', () => {
    const long = `${'x'.repeat(3000)}\n${'y'.repeat(3000)}`;
    const text = new DnfOutputText();
    expect(text.push(utf8(long)) + text.end()).toBe(long);
  });

  it('shows a byte that starts no UTF-8 sequence at once, escaped, instead of holding it for the next chunk', () => {
    for (const byte of [0xc0, 0xc1, 0xf5, 0xf8, 0xff]) {
      const text = new DnfOutputText();
      expect(text.push(Uint8Array.of(0x61, byte)), byte.toString(16)).toBe(`a\\x${byte.toString(16)}`);
      expect(text.end()).toBe('');
    }
  });

  it('escapes every C0 control and DEL but newline and tab', () => {
    for (let byte = 0; byte < 0x20; byte++) {
      if (byte === 0x09 || byte === 0x0a) continue;
      const text = new DnfOutputText();
      expect(text.push(Uint8Array.of(0x61, byte, 0x62)) + text.end(), byte.toString(16)).toBe(`a\\x${byte.toString(16).padStart(2, '0')}b`);
    }
    const text = new DnfOutputText();
    expect(text.push(Uint8Array.of(0x7f))).toBe('\\x7f');
  });

  it('holds the first two bytes of a three-byte character led by 0xe0 until its last byte comes', () => {
    // U+0800 is e0 a0 80
    const text = new DnfOutputText();
    expect([text.push(Uint8Array.of(0xe0, 0xa0)), text.push(Uint8Array.of(0x80)), text.end()]).toEqual(['', '\u0800', '']);
  });
});
