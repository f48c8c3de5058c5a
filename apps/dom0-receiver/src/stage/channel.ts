import { read, write } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable, Writable } from 'node:stream';

/**
 * The receiver and its stage talk over the child's fd 3 (a socket pair) in JSON, one value per
 * line. Node's own IPC channel would do the framing, but it buffers a message without bound: a
 * compromised stage could grow the root parent's memory at will. Here every line has a limit.
 * The parent reads and writes through streams; the stage uses plain reads and writes on the
 * descriptor, so the code that parses untrusted bytes imports no socket module.
 */
export const CHANNEL_FD = 3;

export class ChannelError extends Error {
  readonly code = 'STAGE_PROTOCOL';
}

const NEWLINE = 0x0a;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function parseLine(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(UTF8.decode(bytes));
  } catch {
    throw new ChannelError('sent a line that is not UTF-8 JSON');
  }
}

/** One value as one line: JSON.stringify escapes every newline inside strings. */
function lineOf(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/**
 * Calls `onValue` with each line's JSON value, in order, and `onError` (once, then nothing more)
 * for a line over `maxLineBytes`, one that is not UTF-8 or not JSON. A partial line at the end
 * of the stream is dropped: the writer died in the middle of it. Memory stays under
 * `maxLineBytes` plus one chunk.
 */
export function readJsonLines(stream: Readable, maxLineBytes: number, onValue: (value: unknown) => void, onError: (error: ChannelError) => void): void {
  let parts: Buffer[] = [];
  let held = 0;
  let failed = false;
  const fail = (reason: string): void => {
    failed = true;
    parts = [];
    stream.destroy();
    onError(new ChannelError(reason));
  };
  const line = (bytes: Buffer): void => {
    let value: unknown;
    try {
      value = parseLine(bytes);
    } catch (error) {
      fail((error as ChannelError).message);
      return;
    }
    onValue(value);
  };
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    while (!failed) {
      const end = chunk.indexOf(NEWLINE, start);
      const size = held + (end === -1 ? chunk.length : end) - start;
      if (size > maxLineBytes) {
        fail(`sent a line over ${maxLineBytes} bytes`);
        return;
      }
      if (end === -1) {
        if (start < chunk.length) parts.push(chunk.subarray(start));
        held = size;
        return;
      }
      const whole = parts.length === 0 ? chunk.subarray(start, end) : Buffer.concat([...parts, chunk.subarray(start, end)]);
      parts = [];
      held = 0;
      start = end + 1;
      line(whole);
    }
  });
  // a reset socket (the peer was killed) ends the lines like an orderly end does
  stream.on('error', () => undefined);
}

/** Writes one value as a line; resolves once the bytes are handed to the kernel. */
export function writeJsonLine(stream: Writable, value: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(lineOf(value), (error) => (error == null ? resolve() : reject(error)));
  });
}

/** An fs call on a descriptor that may be non-blocking: EAGAIN waits a little and tries again. */
async function untilReady(call: (done: (error: NodeJS.ErrnoException | null, bytes: number) => void) => void): Promise<number> {
  for (;;) {
    try {
      return await new Promise<number>((resolve, reject) => {
        call((error, bytes) => (error === null ? resolve(bytes) : reject(error)));
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      await sleep(5);
    }
  }
}

async function writeAll(fd: number, bytes: Buffer): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    offset += await untilReady((done) => write(fd, bytes, offset, bytes.length - offset, null, done));
  }
}

/**
 * The first line's JSON value from `fd` (the stage's configuration; the parent sends nothing
 * after it). Refuses a line over `maxLineBytes` and a channel that ends first.
 */
export async function readFirstJsonLine(fd: number, maxLineBytes: number): Promise<unknown> {
  const buffer = Buffer.alloc(64 * 1024);
  const parts: Buffer[] = [];
  let held = 0;
  for (;;) {
    const bytes = await untilReady((done) => read(fd, buffer, 0, buffer.length, null, done));
    if (bytes === 0) throw new ChannelError('the channel ended before a whole line');
    const end = buffer.subarray(0, bytes).indexOf(NEWLINE);
    const take = end === -1 ? bytes : end;
    if (held + take > maxLineBytes) throw new ChannelError(`sent a line over ${maxLineBytes} bytes`);
    parts.push(Buffer.from(buffer.subarray(0, take)));
    held += take;
    if (end !== -1) break;
  }
  return parseLine(Buffer.concat(parts));
}

/** Writes values to `fd` as lines, one after another in call order, each whole. */
export function jsonLineWriter(fd: number): (value: unknown) => Promise<void> {
  let queue: Promise<void> = Promise.resolve();
  return (value) => {
    const sent = queue.then(() => writeAll(fd, Buffer.from(lineOf(value))));
    queue = sent.catch(() => undefined);
    return sent;
  };
}
