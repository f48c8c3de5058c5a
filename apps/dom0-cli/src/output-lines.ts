/**
 * Splits a child's output into lines without ever holding an endless line whole: the UpdateVM's
 * output is untrusted, and a hostile agent could print one line forever.
 */

/**
 * Longest line kept; the rest of a longer line is dropped and the line is marked as cut. Under the
 * reporter's 1000-character cut (reporter.ts), so that the mark is still there when it is shown.
 */
const MAX_LINE = 900;

/** Ends a line that was cut; the reporter keeps it visible however much sanitising lengthens the rest. */
export const LINE_CUT_MARK = ' [line cut]';

/** The line as shown: cut at MAX_LINE with the mark, however the pipe split it into chunks. */
const bounded = (line: string): string => (line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}${LINE_CUT_MARK}` : line);

export async function readLines(stream: AsyncIterable<unknown>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let pending = '';
  let overlong = false;
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk as Uint8Array, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      if (!overlong) onLine(bounded(pending.slice(0, newline)));
      overlong = false;
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    if (pending.length > MAX_LINE) {
      if (!overlong) onLine(bounded(pending));
      overlong = true;
      pending = '';
    }
  }
  pending += decoder.decode();
  if (pending !== '' && !overlong) onLine(bounded(pending));
}
