import { StreamError } from '../errors.ts';
import { foldCase } from '../names.ts';
import { parseHeaderBlock, type UstarHeader } from './header.ts';
import { BLOCK_SIZE, isZero } from './layout.ts';
import { ByteSource, type Deadlines } from './source.ts';

/** Caps the caller puts on a stream; checked against each header before its body is read. */
export interface DecodeLimits extends Deadlines {
  readonly maxMembers: number;
  readonly maxMemberBytes: number;
  readonly maxTotalBytes: number;
}

/** After the two zero blocks, at most this many further bytes (all zero) may follow: one 20-block record. */
export const MAX_TRAILING_ZERO_BYTES = 10240;

/** A member whose header passed every check; its body streams from the source. */
export interface UstarMember<N extends string> {
  readonly name: N;
  readonly size: number;
  /** Must be read to the end before the next member is requested. */
  readonly body: AsyncIterable<Uint8Array>;
}

/**
 * Accepts a header's name (already printable ASCII) for the stream at hand, or throws. Called with
 * the member's zero-based index so a stream can also pin order (state-sync: request.json first).
 */
export type NameRule<N extends string> = (header: UstarHeader, index: number) => N;

export function checkLimits(limits: DecodeLimits): void {
  for (const key of ['maxMembers', 'maxMemberBytes', 'maxTotalBytes', 'idleTimeoutMs', 'overallTimeoutMs'] as const) {
    const value = limits[key];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`limits.${key} must be a non-negative safe integer, got ${String(value)}`);
    }
  }
}

/**
 * The header block checked and its name read by the stream's rule. A rejection that names no
 * member (a checksum that fails, an empty name) says which header it was instead.
 */
function namedHeader<N extends string>(block: Uint8Array, rule: NameRule<N>, index: number): { header: UstarHeader; name: N } {
  try {
    const header = parseHeaderBlock(block);
    return { header, name: rule(header, index) };
  } catch (error) {
    if (!(error instanceof StreamError) || error.member !== undefined) throw error;
    throw new StreamError(error.code, `the header of member ${index + 1}: ${error.message}`, undefined, { cause: error });
  }
}

/**
 * The strict streaming ustar decoder shared by both streams. Memory held: one 512-byte header, the
 * source's current chunk and the set of names seen (bounded by maxMembers). The generator
 * completes only after the end-of-archive marker and end of stream were verified; a caller must
 * not act on a stream whose generator did not complete.
 */
export async function* decodeUstar<N extends string>(
  input: AsyncIterable<Uint8Array>,
  limits: DecodeLimits,
  rule: NameRule<N>,
  signal?: AbortSignal,
): AsyncGenerator<UstarMember<N>, void, undefined> {
  checkLimits(limits);
  const source = new ByteSource(input, limits, signal);
  const block = new Uint8Array(BLOCK_SIZE);
  // Keyed by the case-folded name: two names one filesystem may store as one file are duplicates.
  const seen = new Map<string, string>();
  let totalBytes = 0;
  let index = 0;
  try {
    for (;;) {
      const got = await placed(source.fill(block), `while receiving the header of member ${index + 1}`);
      if (got === 0) throw new StreamError('TAR_MISSING_END', 'the stream ended without the end-of-archive marker');
      if (got < BLOCK_SIZE) throw new StreamError('TAR_TRUNCATED', `the stream ends inside a header (${got} of 512 bytes)`);
      if (isZero(block)) {
        await readEnd(source, block);
        return;
      }

      const { header, name } = namedHeader(block, rule, index);
      const earlier = seen.get(foldCase(name));
      if (earlier !== undefined) {
        throw new StreamError(
          'TAR_DUPLICATE_NAME',
          earlier === name
            ? 'the name appears twice in the stream'
            : `the name differs only in letter case from the earlier member ${earlier} (one file on a case-insensitive filesystem)`,
          name,
        );
      }
      if (index + 1 > limits.maxMembers) {
        throw new StreamError('TAR_TOO_MANY_MEMBERS', `more than ${limits.maxMembers} member${limits.maxMembers === 1 ? '' : 's'}`, name);
      }
      if (header.size > limits.maxMemberBytes) {
        throw new StreamError('TAR_MEMBER_TOO_LARGE', `size ${header.size} exceeds the limit of ${limits.maxMemberBytes} bytes`, name);
      }
      if (totalBytes + header.size > limits.maxTotalBytes) {
        throw new StreamError(
          'TAR_TOO_MANY_BYTES',
          `the members would total ${totalBytes + header.size} bytes, more than the limit of ${limits.maxTotalBytes}`,
          name,
        );
      }
      seen.set(foldCase(name), name);
      totalBytes += header.size;
      index++;

      const body = new BodyReader(source, name, header.size);
      yield { name, size: header.size, body: body.iterate() };

      if (!body.finished) {
        throw new StreamError('TAR_BODY_NOT_CONSUMED', 'the next member was requested before this body was read to its end', name);
      }
      await readPadding(source, header.size, name);
    }
  } finally {
    source.close();
  }
}

/**
 * A stall says where in the stream it came (the source's timeout knows no places): inside a
 * member's data it names that member; in a header, which header it was.
 */
async function placed<T>(read: Promise<T>, where: string, name?: string): Promise<T> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof StreamError && error.code === 'TAR_TIMEOUT' && error.member === undefined) {
      throw new StreamError('TAR_TIMEOUT', `${error.message} ${where}`, name, { cause: error });
    }
    throw error;
  }
}

const inMember = <T>(read: Promise<T>, name: string): Promise<T> => placed(read, 'while receiving this member', name);

class BodyReader {
  readonly #source: ByteSource;
  readonly #name: string;
  #remaining: number;
  #started = false;

  constructor(source: ByteSource, name: string, size: number) {
    this.#source = source;
    this.#name = name;
    this.#remaining = size;
  }

  get finished(): boolean {
    return this.#remaining === 0;
  }

  async *iterate(): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#started) throw new StreamError('TAR_BODY_NOT_CONSUMED', 'a member body can be read only once', this.#name);
    this.#started = true;
    while (this.#remaining > 0) {
      const piece = await inMember(this.#source.read(this.#remaining), this.#name);
      if (piece === null) {
        throw new StreamError('TAR_TRUNCATED', `the stream ends inside the body, ${this.#remaining} byte${this.#remaining === 1 ? '' : 's'} short`, this.#name);
      }
      this.#remaining -= piece.length;
      yield piece;
    }
  }
}

async function readPadding(source: ByteSource, size: number, name: string): Promise<void> {
  let left = (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
  while (left > 0) {
    const piece = await inMember(source.read(left), name);
    if (piece === null) throw new StreamError('TAR_TRUNCATED', 'the stream ends inside the padding after the body', name);
    if (!isZero(piece)) throw new StreamError('TAR_BAD_PADDING', 'the padding after the body is not zero', name);
    left -= piece.length;
  }
}

/** Called after one zero block: requires a second one, then at most a record of zero bytes, then EOF. */
async function readEnd(source: ByteSource, block: Uint8Array): Promise<void> {
  const got = await source.fill(block);
  if (got === 0) {
    throw new StreamError('TAR_MISSING_END', 'the stream ended after a single zero block; the end marker is two');
  }
  if (got < BLOCK_SIZE) throw new StreamError('TAR_TRUNCATED', 'the stream ends inside the end-of-archive marker');
  if (!isZero(block)) {
    throw new StreamError('TAR_MISSING_END', 'a zero block is followed by something other than a second zero block');
  }
  let trailing = 0;
  for (;;) {
    const piece = await source.read(MAX_TRAILING_ZERO_BYTES + 1 - trailing);
    if (piece === null) return;
    if (!isZero(piece)) throw new StreamError('TAR_TRAILING_DATA', 'non-zero data follows the end-of-archive marker');
    trailing += piece.length;
    if (trailing > MAX_TRAILING_ZERO_BYTES) {
      throw new StreamError('TAR_TRAILING_DATA', `more than ${MAX_TRAILING_ZERO_BYTES} bytes follow the end-of-archive marker`);
    }
  }
}
