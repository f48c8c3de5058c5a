/**
 * Makes untrusted text safe for a terminal or a log line: only printable ASCII survives, everything
 * else (control characters, escape sequences, non-ASCII that could hide look-alikes) becomes `\xNN`
 * or `\u{...}`, and the result is bounded.
 */
export function sanitizeText(text: string, maxLength = 256): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0x20 && cp <= 0x7e && ch !== '\\') {
      out += ch;
    } else if (ch === '\\') {
      out += '\\\\';
    } else if (cp <= 0xff) {
      out += `\\x${cp.toString(16).padStart(2, '0')}`;
    } else {
      out += `\\u{${cp.toString(16)}}`;
    }
    if (out.length > maxLength) return `${out.slice(0, maxLength)}...`;
  }
  return out;
}
