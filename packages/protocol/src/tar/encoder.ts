import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import type { Writable } from 'node:stream';
import { EncodeError } from '../errors.ts';
import { foldCase } from '../names.ts';
import { encodeHeaderBlock } from './header-encode.ts';
import { BLOCK_SIZE, MAX_ENCODABLE_SIZE } from './layout.ts';

/** A member read from a file on disk, streamed without holding it whole. */
export interface FileSourceMember {
  readonly name: string;
  readonly path: string;
}

/** A member whose bytes come from an iterable; it must yield exactly `size` bytes. */
export interface BytesSourceMember {
  readonly name: string;
  readonly size: number;
  readonly body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

export type EncoderMember = FileSourceMember | BytesSourceMember;

export interface EncodeOptions {
  /** End `out` after the end-of-archive marker (default true). */
  readonly end?: boolean;
  readonly signal?: AbortSignal;
}

export interface EncodeSummary {
  readonly members: number;
  /** Sum of member sizes. */
  readonly memberBytes: number;
  /** Bytes written to `out`. */
  readonly streamBytes: number;
}

/** Returns why a name may not be written, or undefined. */
export type EncodeNameRule = (name: string) => string | undefined;

const READ_CHUNK = 64 * 1024;
const END_MARKER = new Uint8Array(2 * BLOCK_SIZE);

/**
 * Writes members as the pinned ustar subset, honouring backpressure. Each name is checked before
 * its header is written; an array input is checked whole before the first byte is written.
 */
export async function encodeUstar(
  members: Iterable<EncoderMember> | AsyncIterable<EncoderMember>,
  out: Writable,
  nameRule: EncodeNameRule,
  options: EncodeOptions = {},
): Promise<EncodeSummary> {
  // Same collision rule as the decoder, so the encoder never writes a stream the peer rejects.
  const seen = new Map<string, string>();
  const admit = (name: string): void => {
    const problem = nameRule(name);
    if (problem !== undefined) throw new EncodeError('ENCODE_BAD_NAME', problem, name);
    const earlier = seen.get(foldCase(name));
    if (earlier !== undefined) {
      throw new EncodeError(
        'ENCODE_DUPLICATE_NAME',
        earlier === name ? 'the name is given twice' : `the name differs only in letter case from ${earlier}`,
        name,
      );
    }
    seen.set(foldCase(name), name);
  };
  if (Array.isArray(members)) {
    for (const member of members as readonly EncoderMember[]) admit(member.name);
    seen.clear();
  }

  const sink = new Sink(out, options.signal);
  let count = 0;
  let memberBytes = 0;
  for await (const member of members) {
    admit(member.name);
    const size = 'path' in member ? await writeFileMember(sink, member) : await writeBytesMember(sink, member);
    count++;
    memberBytes += size;
  }
  await sink.write(END_MARKER);
  if (options.end !== false) await sink.end();
  return { members: count, memberBytes, streamBytes: sink.written };
}

async function writeFileMember(sink: Sink, member: FileSourceMember): Promise<number> {
  // O_NOFOLLOW: a symlink swapped in for a downloaded file is refused, not followed.
  // O_NONBLOCK: opening a FIFO put in its place returns at once (then fails the isFile check)
  // instead of blocking forever; it changes nothing for reads of a regular file.
  const handle = await open(member.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((cause: unknown) => {
    throw new EncodeError('ENCODE_NOT_A_FILE', `cannot open ${member.path}: ${String(cause)}`, member.name, { cause });
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new EncodeError('ENCODE_NOT_A_FILE', `${member.path} is not a regular file`, member.name);
    const size = stat.size;
    checkSize(member.name, size);
    await sink.write(encodeHeaderBlock(member.name, size));
    let left = size;
    while (left > 0) {
      // A fresh buffer per chunk: the stream may still hold the previous one.
      const buffer = new Uint8Array(Math.min(READ_CHUNK, left));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) throw new EncodeError('ENCODE_SIZE_CHANGED', `${member.path} shrank while it was being sent`, member.name);
      await sink.write(buffer.subarray(0, bytesRead));
      left -= bytesRead;
    }
    const extra = await handle.read(new Uint8Array(1), 0, 1, null);
    if (extra.bytesRead !== 0) throw new EncodeError('ENCODE_SIZE_CHANGED', `${member.path} grew while it was being sent`, member.name);
    await sink.write(padding(size));
    return size;
  } finally {
    await handle.close();
  }
}

async function writeBytesMember(sink: Sink, member: BytesSourceMember): Promise<number> {
  checkSize(member.name, member.size);
  await sink.write(encodeHeaderBlock(member.name, member.size));
  let written = 0;
  for await (const chunk of member.body) {
    written += chunk.length;
    if (written > member.size) {
      throw new EncodeError('ENCODE_SIZE_CHANGED', `the body yields more than the declared ${member.size} bytes`, member.name);
    }
    if (chunk.length > 0) await sink.write(chunk);
  }
  if (written !== member.size) {
    throw new EncodeError('ENCODE_SIZE_CHANGED', `the body yields ${written} bytes, not the declared ${member.size}`, member.name);
  }
  await sink.write(padding(member.size));
  return member.size;
}

function checkSize(name: string, size: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_ENCODABLE_SIZE) {
    throw new EncodeError('ENCODE_TOO_LARGE', `size ${size} does not fit the ustar size field (max ${MAX_ENCODABLE_SIZE})`, name);
  }
}

function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE);
}

/** A Writable seen as an awaitable sink: waits for 'drain', fails on 'error' or 'close'. */
class Sink {
  readonly #out: Writable;
  readonly #signal: AbortSignal | undefined;
  written = 0;

  constructor(out: Writable, signal: AbortSignal | undefined) {
    this.#out = out;
    this.#signal = signal;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    this.#check();
    this.written += bytes.length;
    if (!this.#out.write(bytes)) await this.#wait('drain');
  }

  async end(): Promise<void> {
    this.#check();
    const finished = this.#wait('finish');
    this.#out.end();
    await finished;
  }

  #check(): void {
    if (this.#signal?.aborted === true) throw new EncodeError('ENCODE_OUTPUT_CLOSED', 'encoding was aborted');
    if (this.#out.destroyed || this.#out.writableEnded) {
      throw new EncodeError('ENCODE_OUTPUT_CLOSED', 'the output stream is closed');
    }
  }

  #wait(event: 'drain' | 'finish'): Promise<void> {
    const out = this.#out;
    const signal = this.#signal;
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        out.off(event, onDone);
        out.off('error', onError);
        out.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      const onDone = (): void => {
        cleanup();
        resolve();
      };
      const onError = (cause: unknown): void => {
        cleanup();
        reject(new EncodeError('ENCODE_OUTPUT_CLOSED', `the output stream failed: ${String(cause)}`, undefined, { cause }));
      };
      const onClose = (): void => {
        cleanup();
        reject(new EncodeError('ENCODE_OUTPUT_CLOSED', 'the output stream closed early'));
      };
      const onAbort = (): void => {
        cleanup();
        reject(new EncodeError('ENCODE_OUTPUT_CLOSED', 'encoding was aborted'));
      };
      out.on(event, onDone);
      out.on('error', onError);
      out.on('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
