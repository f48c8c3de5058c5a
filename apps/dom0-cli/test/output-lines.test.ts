import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readLines } from '../src/output-lines.ts';

/** Each line `readLines` shows for `chunks`, as a child's pipe delivers them. */
async function linesOf(chunks: readonly Uint8Array[]): Promise<string[]> {
  const lines: string[] = [];
  await readLines(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), (line) => lines.push(line));
  return lines;
}

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');

describe("the UpdateVM's output lines", () => {
  it('shows a line of exactly 900 bytes whole and unmarked', async () => {
    const line = 'a'.repeat(900);
    expect(await linesOf([utf8(`${line}\nnext\n`)])).toEqual([line, 'next']);
  });

  it('keeps an empty line right after another line', async () => {
    expect(await linesOf([utf8('a\n\nb\n')])).toEqual(['a', '', 'b']);
  });

  it('reads text chunks as UTF-8', async () => {
    const lines: string[] = [];
    await readLines(Readable.from(['caf\u00e9\n']), (line) => lines.push(line));
    expect(lines).toEqual(['caf\u00e9']);
  });

  it('marks a line cut when its first 900 bytes came in a chunk of their own', async () => {
    expect(await linesOf([utf8('a'.repeat(900)), utf8('bc\nnext\n')])).toEqual([`${'a'.repeat(900)} [line cut]`, 'next']);
  });

  it('cuts a long line before a four-byte character that straddles the 900th byte, never inside it', async () => {
    // 𝄞 is f0 9d 84 9e: its lead byte at offset 897, so byte 900 is its last continuation byte
    const line = `${'a'.repeat(897)}\u{1d11e}${'b'.repeat(50)}`;
    expect(await linesOf([utf8(`${line}\n`)])).toEqual([`${'a'.repeat(897)} [line cut]`]);
  });

  it('drops the rest of a cut line that never ends, instead of showing it as a line of its own', async () => {
    // what follows the cut would start a row of its own, where it could pose as dom0-update's words
    expect(await linesOf([utf8('a'.repeat(1000)), utf8('dom0-update: no updates')])).toEqual([`${'a'.repeat(900)} [line cut]`]);
  });
});
