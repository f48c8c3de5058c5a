import { sanitizeBytesForTerminal } from '@dom0-updates/protocol';

/**
 * Splits a child's output into lines without ever holding an endless line whole: the UpdateVM's
 * output is untrusted, and a hostile agent could print one line forever.
 */

/**
 * Longest line kept, in bytes; the rest of a longer line is dropped and the line is marked as cut.
 * Under the reporter's 1000-character cut (reporter.ts), so that the mark is still there when it is shown.
 */
const MAX_LINE = 900;

/** Ends a line that was cut; the reporter keeps it visible however much sanitising lengthens the rest. */
export const LINE_CUT_MARK = ' [line cut]';

/**
 * The line as shown: cut at MAX_LINE bytes (never inside a UTF-8 sequence) with the mark. Valid
 * UTF-8 is text, anything else byte by byte with `\xNN` escapes (SPEC section 8), never U+FFFD,
 * which would hide what was sent. Escaped here and again by the reporter: sanitising is idempotent.
 */
function shown(line: Uint8Array): string {
  if (line.length <= MAX_LINE) return sanitizeBytesForTerminal(line);
  let end = MAX_LINE;
  // back to the start of a sequence: at most three continuation bytes (10xxxxxx)
  for (let i = 0; i < 3 && end > 0 && ((line[end] ?? 0) & 0xc0) === 0x80; i++) end -= 1;
  return `${sanitizeBytesForTerminal(line.subarray(0, end))}${LINE_CUT_MARK}`;
}

/**
 * Whether a line is to be shown: `bytes[start..end)` is the line as it came, which may be longer
 * than MAX_LINE when one chunk held it whole (it is still shown cut).
 */
export type KeepLine = (bytes: Uint8Array, start: number, end: number) => boolean;

/**
 * Calls `onLine` with each line as shown. `keep`, when given, sees each line's raw bytes first and
 * may pass it over unshown: sanitising costs far more than splitting, and a flood of short lines
 * would otherwise keep dom0's CPU busy long after none is shown (lines are found by offset, so a
 * line passed over costs no allocation).
 */
export async function readLines(stream: AsyncIterable<unknown>, onLine: (line: string) => void, keep?: KeepLine): Promise<void> {
  const take = (bytes: Uint8Array, start: number, end: number): void => {
    if (keep === undefined || keep(bytes, start, end)) onLine(shown(bytes.subarray(start, end)));
  };
  let pending: Uint8Array = new Uint8Array(0);
  let overlong = false;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Uint8Array);
    pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes]);
    let start = 0;
    for (let newline = pending.indexOf(0x0a); newline !== -1; newline = pending.indexOf(0x0a, start)) {
      if (!overlong) take(pending, start, newline);
      overlong = false;
      start = newline + 1;
    }
    pending = pending.subarray(start);
    if (pending.length > MAX_LINE) {
      if (!overlong) take(pending, 0, pending.length);
      overlong = true;
      pending = new Uint8Array(0);
    }
  }
  if (pending.length > 0 && !overlong) take(pending, 0, pending.length);
}
