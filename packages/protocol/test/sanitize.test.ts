import { describe, expect, it } from 'vitest';
import { sanitizeBytesForTerminal, sanitizeForTerminal } from '../src/index.ts';

describe('sanitizeForTerminal', () => {
  it('escapes C0 controls, ESC sequences and DEL', () => {
    expect(sanitizeForTerminal('a\x1b[31mred\x07\x7f\n\t\r\0')).toBe('a\\x1b[31mred\\x07\\x7f\\x0a\\x09\\x0d\\x00');
  });

  it('escapes C1 controls, bidi overrides, zero-width and line separators', () => {
    expect(sanitizeForTerminal('\u009b2J \u202eabc\u202c \u2066x\u2069 a\u200bb \u2028 \ufeff')).toBe(
      '\\x9b2J \\u202eabc\\u202c \\u2066x\\u2069 a\\u200bb \\u2028 \\ufeff',
    );
  });

  it('escapes lone surrogates but keeps valid astral characters', () => {
    expect(sanitizeForTerminal('x\ud800y\udc00z')).toBe('x\\ud800y\\udc00z');
    expect(sanitizeForTerminal('ok 😀 é ü')).toBe('ok 😀 é ü');
  });

  it('is idempotent and leaves only visible characters', () => {
    const once = sanitizeForTerminal('\x1b]0;title\x07 \u202e ☃');
    expect(sanitizeForTerminal(once)).toBe(once);
    expect(once).toMatch(/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u);
  });

  it('cuts to the maximum length without splitting an escape', () => {
    expect(sanitizeForTerminal('abcdefghij', 5)).toBe('abcd…');
    const cut = sanitizeForTerminal('ab\x1b\x1b\x1b', 8);
    expect(cut).toBe('ab\\x1b…');
    expect(cut.length).toBeLessThanOrEqual(8);
  });

  it('shows invalid UTF-8 bytes as hex escapes', () => {
    expect(sanitizeBytesForTerminal(Uint8Array.from([0x61, 0xff, 0xc3, 0x1b, 0x62]))).toBe('a\\xff\\xc3\\x1bb');
    expect(sanitizeBytesForTerminal(new TextEncoder().encode('é\u202e'))).toBe('é\\u202e');
  });
});
