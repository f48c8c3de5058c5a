import { sanitizeBytesForTerminal } from '@dom0-updates/protocol';

/**
 * dom0's dnf output made safe to print, as it comes. dnf prints what the packages say (names,
 * dependencies, file paths, scriptlet output): signed text, but text no one reviewed for the
 * terminal, where a C1 CSI or a bidi override in a Requires would act. Newlines and tabs pass as
 * they are, everything else as `sanitizeBytesForTerminal` shows it. Nothing is held back but the
 * start of a UTF-8 sequence cut by a chunk's end, so dnf's prompt is shown while dnf waits for the
 * answer.
 */
export class DnfOutputText {
  private held: Uint8Array = new Uint8Array(0);

  /** The text of `chunk` to print now. */
  push(chunk: Uint8Array): string {
    const bytes = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const end = completeUpTo(bytes);
    this.held = bytes.slice(end);
    return shown(bytes.subarray(0, end));
  }

  /** What is still held when the stream ends: a sequence dnf never finished, shown escaped. */
  end(): string {
    const rest = shown(this.held);
    this.held = new Uint8Array(0);
    return rest;
  }
}

const NEWLINE = 0x0a;
const TAB = 0x09;

function shown(bytes: Uint8Array): string {
  let text = '';
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte !== NEWLINE && byte !== TAB) continue;
    // no length cut: a long line of dnf's is shown whole, as dnf wrote it
    text += sanitizeBytesForTerminal(bytes.subarray(start, i), Infinity) + String.fromCharCode(byte);
    start = i + 1;
  }
  return text + sanitizeBytesForTerminal(bytes.subarray(start), Infinity);
}

/** Where the last UTF-8 sequence that is whole ends: a lead byte among the last three whose sequence runs past the end is held. */
function completeUpTo(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte < 0xc2 ? 1 : byte < 0xe0 ? 2 : byte < 0xf0 ? 3 : byte <= 0xf4 ? 4 : 1;
    return length > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}
