import { describe, expect, it } from 'vitest';
import {
  checkServiceArgument,
  decodeUpdateStream,
  EncodeError,
  encodeUpdateStream,
  parseReply,
  PROTOCOL_VERSION,
  ReplyError,
  sanitizeBytesForTerminal,
  sanitizeForTerminal,
  StreamError,
} from '../src/index.ts';
import { Capture, LIMITS, text } from './helpers.ts';

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

const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

describe('sanitising format characters', () => {
  it('escapes format characters that are not default-ignorable (Arabic number signs, interlinear annotation)', () => {
    // category Cf without the Default_Ignorable_Code_Point property: only the category keeps them out
    expect(sanitizeForTerminal('a\u0600b\u06ddc\ufff9d\ufffbe\u{110bd}f\u{13430}')).toBe(
      'a\\u0600b\\u06ddc\\ufff9d\\ufffbe\\u{110bd}f\\u{13430}',
    );
  });

  it('escapes U+FFFF in the four-digit form and a private-use code point above it in the braced form', () => {
    expect(sanitizeForTerminal('\uffff')).toBe('\\uffff');
    expect(sanitizeForTerminal('\u{f0000}\ufffe')).toBe('\\u{f0000}\\ufffe');
  });
});

describe('sanitiser length limit', () => {
  it('keeps text of exactly maxLength whole, without an ellipsis', () => {
    expect(sanitizeForTerminal('abc', 3)).toBe('abc');
    expect(sanitizeForTerminal('x'.repeat(4096))).toBe('x'.repeat(4096));
    expect(sanitizeForTerminal('abcd', 3)).toBe('ab…');
  });
});

describe('sanitised error text', () => {
  it('sanitises a transport failure quoted in a stream error message', async () => {
    const source = { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('\x1b]0;owned\x07\x1b[2J')) }) } as unknown as AsyncIterable<Uint8Array>;
    const caught = await (async () => {
      for await (const member of decodeUpdateStream(source, LIMITS)) throw new Error(`unexpected member ${member.name}`);
      return undefined;
    })().catch((e: unknown) => e);
    expect(caught).toMatchObject({ code: 'TAR_SOURCE_ERROR' });
    expect((caught as StreamError).message).toContain('\\x1b]0;owned\\x07');
    expect((caught as StreamError).message).not.toMatch(CONTROL);
  });

  it('sanitises a hostile service argument in the version error', () => {
    expect(() => checkServiceArgument('v1\x1b[2J')).toThrow(expect.objectContaining({ code: 'VERSION_UNSUPPORTED', message: expect.not.stringMatching(CONTROL) as unknown }));
  });

  it('sanitises the member of a stream error and of an encode error', async () => {
    expect(new StreamError('TAR_BAD_NAME', 'bad', '\x1b[31mx.rpm').member).toBe('\\x1b[31mx.rpm');
    const caught = await encodeUpdateStream([{ name: '\x1b[31mx.rpm', size: 0, body: [] }], new Capture()).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(EncodeError);
    expect((caught as EncodeError).member).toBe('\\x1b[31mx.rpm');
  });

  it('sanitises every issue of a rejected document, not only its message', () => {
    try {
      parseReply(text(`{"protocol":"${PROTOCOL_VERSION}","status":"accepted","packages":[],"\\u001b[2J":1}\n`));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ReplyError);
      expect((error as ReplyError).issues).toEqual(['reply.\\x1b[2J: is not an allowed field']);
    }
  });
});
