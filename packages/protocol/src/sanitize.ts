/**
 * The one place untrusted text is made safe to print: everything outside an allow-list of visible
 * characters becomes a visible escape, so escape sequences, bidi overrides and control characters
 * can never act on a terminal or forge a log line.
 */

export const DEFAULT_SANITIZE_MAX_LENGTH = 4096;

// Letters, marks, numbers, punctuation, symbols and the plain space; nothing else passes raw.
// Default-ignorable code points are taken out even where their category is L or M (Hangul fillers,
// variation selectors, the combining grapheme joiner): terminals draw them as nothing at all.
const VISIBLE = /^(?!\p{Default_Ignorable_Code_Point})[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
/** Text made only of characters `sanitizeForTerminal` lets through (what its output always is). */
export const SANITIZED_TEXT_PATTERN = /^(?:(?!\p{Default_Ignorable_Code_Point})[\p{L}\p{M}\p{N}\p{P}\p{S} ])*$/u;
const ELLIPSIS = '…';
const MARK = /^\p{M}$/u;
/**
 * Marks in a row drawn on one base character. Real text stacks a few (Vietnamese two, pointed
 * Hebrew up to four); dozens ("zalgo") draw over the lines above and below, so the rest are escaped.
 */
export const MAX_MARKS_IN_A_ROW = 4;

function escapeCodePoint(codePoint: number): string {
  if (codePoint <= 0xff) return `\\x${codePoint.toString(16).padStart(2, '0')}`;
  if (codePoint <= 0xffff) return `\\u${codePoint.toString(16).padStart(4, '0')}`;
  return `\\u{${codePoint.toString(16)}}`;
}

function limit(pieces: Iterable<string>, maxLength: number): string {
  // NaN would compare false against every length and cut nothing; below 1 there is no room for the ellipsis.
  const max = Number.isNaN(maxLength) ? DEFAULT_SANITIZE_MAX_LENGTH : Math.max(1, Math.floor(maxLength));
  const kept: string[] = [];
  let length = 0;
  for (const piece of pieces) {
    // Drop whole pieces, never part of one: an escape or a surrogate pair is never cut in half.
    if (length + piece.length > max) {
      while (length + ELLIPSIS.length > max && kept.length > 0) length -= kept.pop()?.length ?? 0;
      return kept.join('') + ELLIPSIS;
    }
    kept.push(piece);
    length += piece.length;
  }
  return kept.join('');
}

function* textPieces(text: string): Generator<string> {
  let marks = 0;
  // for..of walks code points; a lone surrogate arrives as one unit and fails the allow-list.
  for (const ch of text) {
    marks = MARK.test(ch) ? marks + 1 : 0;
    yield VISIBLE.test(ch) && marks <= MAX_MARKS_IN_A_ROW ? ch : escapeCodePoint(ch.codePointAt(0) ?? 0);
  }
}

/**
 * Returns `text` with every character outside the visible allow-list replaced by an escape such as
 * `\x1b`, `\u202e` or `\ud800` (and every mark of a run after its first `MAX_MARKS_IN_A_ROW`), cut
 * to at most `maxLength` UTF-16 code units (ending in `…` when cut).
 * The result contains only visible characters and spaces, so sanitising twice changes nothing.
 */
export function sanitizeForTerminal(text: string, maxLength: number = DEFAULT_SANITIZE_MAX_LENGTH): string {
  return limit(textPieces(text), maxLength);
}

function* bytePieces(bytes: Uint8Array): Generator<string> {
  for (const byte of bytes) {
    yield byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : escapeCodePoint(byte);
  }
}

/**
 * Bytes that should be ASCII (tar names and header fields) made printable: printable ASCII as is,
 * every other byte as `\xNN`, even when the bytes are valid UTF-8 — so a Cyrillic `а` or a
 * combining accent in a rejected name cannot pose as the ASCII name it imitates.
 */
export function sanitizeAsciiBytesForTerminal(bytes: Uint8Array, maxLength: number = DEFAULT_SANITIZE_MAX_LENGTH): string {
  return limit(bytePieces(bytes), maxLength);
}

// ignoreBOM keeps a leading U+FEFF, so it is shown escaped rather than silently dropped.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Bytes of unknown encoding made printable: valid UTF-8 is shown as text (sanitised), anything else
 * byte by byte with `\xNN` escapes for every byte outside printable ASCII.
 */
export function sanitizeBytesForTerminal(
  bytes: Uint8Array,
  maxLength: number = DEFAULT_SANITIZE_MAX_LENGTH,
): string {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return limit(bytePieces(bytes), maxLength);
  }
  return sanitizeForTerminal(text, maxLength);
}
