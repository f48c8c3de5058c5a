/**
 * sanitizeForTerminal against every class of terminal-active or invisible text: C0/C1 controls,
 * escape sequences (CSI, OSC ended by BEL or ST, DCS), bidi controls, zero-width and other
 * default-ignorable characters, lone surrogates and NUL.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sanitizeAsciiBytesForTerminal, sanitizeBytesForTerminal, sanitizeForTerminal } from '../src/index.ts';

const hex2 = (cp: number): string => `\\x${cp.toString(16).padStart(2, '0')}`;
const hex4 = (cp: number): string => `\\u${cp.toString(16).padStart(4, '0')}`;
/** Anything that can act on a terminal or hide: controls, format, separators, private use, unassigned, surrogates. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Cs}\p{Default_Ignorable_Code_Point}]|[^\S ]/u;

describe('sanitizeForTerminal against hostile text', () => {
  it('escapes every C0 control, DEL and every C1 control as \\xNN', () => {
    const codes = [...Array.from({ length: 0x20 }, (_, i) => i), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i)];
    for (const cp of codes) expect(sanitizeForTerminal(`a${String.fromCodePoint(cp)}b`)).toBe(`a${hex2(cp)}b`);
  });

  const sequences: [string, string, string][] = [
    ['CSI (7-bit)', '\x1b[2J\x1b[31mred', '\\x1b[2J\\x1b[31mred'],
    ['CSI (8-bit)', '\x9b2J', '\\x9b2J'],
    ['OSC ended by BEL', '\x1b]0;title\x07', '\\x1b]0;title\\x07'],
    ['OSC 8 hyperlink ended by ST', '\x1b]8;;http://evil\x1b\\x\x1b]8;;\x1b\\', '\\x1b]8;;http://evil\\x1b\\x\\x1b]8;;\\x1b\\'],
    ['OSC (8-bit) ended by 8-bit ST', '\x9d0;t\x9c', '\\x9d0;t\\x9c'],
    ['DCS', '\x1bPq#0\x1b\\', '\\x1bPq#0\\x1b\\'],
    ['a cursor-up line overwrite', 'ok\r\x1b[1A\x1b[2Kforged', 'ok\\x0d\\x1b[1A\\x1b[2Kforged'],
    ['a fake log line', 'x\nINFO all packages verified', 'x\\x0aINFO all packages verified'],
  ];
  for (const [what, input, expected] of sequences) {
    it(`defuses ${what}`, () => {
      expect(sanitizeForTerminal(input)).toBe(expected);
    });
  }

  it('escapes every bidi control (U+202A–U+202E, U+2066–U+2069, LRM, RLM, ALM)', () => {
    const bidi = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c];
    for (const cp of bidi) expect(sanitizeForTerminal(`a${String.fromCodePoint(cp)}b`)).toBe(`a${hex4(cp)}b`);
  });

  it('escapes zero-width and other invisible characters, including those of category L or M', () => {
    const invisible = [0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x00ad, 0x115f, 0x1160, 0x3164, 0xffa0, 0x034f, 0x17b4, 0x17b5, 0x180b, 0xfe0f];
    for (const cp of invisible) {
      expect(sanitizeForTerminal(`a${String.fromCodePoint(cp)}b`)).toBe(`a${cp <= 0xff ? hex2(cp) : hex4(cp)}b`);
    }
    expect(sanitizeForTerminal('x\u{e0100}\u{e0041}')).toBe('x\\u{e0100}\\u{e0041}');
  });

  it('escapes lone and reversed surrogates but keeps a real pair', () => {
    expect(sanitizeForTerminal('\ud800')).toBe('\\ud800');
    expect(sanitizeForTerminal('\udfff')).toBe('\\udfff');
    expect(sanitizeForTerminal('\udc00\ud800')).toBe('\\udc00\\ud800');
    expect(sanitizeForTerminal('\ud83d\ude00')).toBe('😀');
  });

  it('escapes NUL and non-space whitespace', () => {
    expect(sanitizeForTerminal('a\0b\u00a0c\u3000d\u2028e\u2029f')).toBe('a\\x00b\\xa0c\\u3000d\\u2028e\\u2029f');
  });

  it('keeps ordinary text in any script, with its accents', () => {
    for (const textIn of ['hello-1.0-1.fc37.x86_64.rpm', 'Grüße, café', 'Ελληνικά', 'русский', '日本語', 'עברית', 'e\u0301']) {
      expect(sanitizeForTerminal(textIn)).toBe(textIn);
    }
  });

  it('escapes the marks of a long run after the fourth, so stacked marks cannot draw over other lines', () => {
    const acute = '\u0301';
    expect(sanitizeForTerminal(`a${acute.repeat(4)}b`)).toBe(`a${acute.repeat(4)}b`);
    expect(sanitizeForTerminal(`a${acute.repeat(30)}b`)).toBe(`a${acute.repeat(4)}${'\\u0301'.repeat(26)}b`);
    // mixed marks count as one run, whatever their kind (nonspacing, enclosing, spacing)
    expect(sanitizeForTerminal('z\u0336\u20dd\u0903\u0489\u0352\u036b')).toBe('z\u0336\u20dd\u0903\u0489\\u0352\\u036b');
    // an escaped default-ignorable mark still counts, so the run cannot be restarted behind it
    expect(sanitizeForTerminal(`o${acute.repeat(3)}\u034f${acute}`)).toBe(`o${acute.repeat(3)}\\u034f\\u0301`);
    // a new base character starts a new run
    expect(sanitizeForTerminal(`a${acute.repeat(4)}e${acute.repeat(4)}`)).toBe(`a${acute.repeat(4)}e${acute.repeat(4)}`);
  });

  it('never leaves more marks in a row than allowed, and sanitising again changes nothing', () => {
    const marky = fc.string({ unit: fc.constantFrom('a', ' ', '\u0301', '\u0336', '\u034f', '\u20dd', '\x1b'), maxLength: 60 });
    fc.assert(
      fc.property(marky, (input) => {
        const out = sanitizeForTerminal(input);
        expect(out).not.toMatch(/\p{M}{5}/u);
        expect(sanitizeForTerminal(out)).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });

  it('treats a NaN maximum as the default, not as "no limit"', () => {
    expect(sanitizeForTerminal('x'.repeat(5000), Number.NaN)).toHaveLength(4096);
  });

  it('shows non-ASCII bytes of tar names escaped, even when they are valid UTF-8', () => {
    expect(sanitizeAsciiBytesForTerminal(new TextEncoder().encode('\u0430.rpm'))).toBe('\\xd0\\xb0.rpm');
    expect(sanitizeAsciiBytesForTerminal(Uint8Array.from([0x61, 0x1b, 0x7f, 0x20]))).toBe('a\\x1b\\x7f ');
  });

  it('shows a leading byte-order mark in bytes escaped instead of dropping it', () => {
    expect(sanitizeBytesForTerminal(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61]))).toBe('\\ufeffa');
  });

  it('never lets an unsafe code point through, for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (input) => {
        expect(sanitizeForTerminal(input)).not.toMatch(UNSAFE);
      }),
      { numRuns: 1000 },
    );
  });
});
