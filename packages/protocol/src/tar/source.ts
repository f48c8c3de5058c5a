import { StreamError } from '../errors.ts';

export interface Deadlines {
  /** Longest wait for the next chunk from the sender. */
  readonly idleTimeoutMs: number;
  /** Longest time from the start of decoding to its end. */
  readonly overallTimeoutMs: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Pulls bytes from an untrusted async source one chunk at a time, holding at most that one chunk.
 * Every wait for the sender is bounded by the idle and overall deadlines and by the abort signal;
 * time the consumer spends on a chunk is not counted as the sender being idle.
 */
export class ByteSource {
  readonly #iterator: AsyncIterator<unknown>;
  readonly #deadlines: Deadlines;
  readonly #signal: AbortSignal | undefined;
  readonly #deadline: number;
  #chunk: Uint8Array = EMPTY;
  #ended = false;

  constructor(source: AsyncIterable<Uint8Array>, deadlines: Deadlines, signal?: AbortSignal) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#deadlines = deadlines;
    this.#signal = signal;
    this.#deadline = Date.now() + deadlines.overallTimeoutMs;
  }

  /** Up to `max` bytes (a view into the current chunk), or null at the end of the stream. */
  async read(max: number): Promise<Uint8Array | null> {
    if (this.#chunk.length === 0 && !(await this.#pull())) return null;
    const piece = this.#chunk.subarray(0, max);
    this.#chunk = this.#chunk.subarray(piece.length);
    return piece;
  }

  /** Fills `into` as far as the stream allows; returns how many bytes were filled. */
  async fill(into: Uint8Array): Promise<number> {
    let filled = 0;
    while (filled < into.length) {
      const piece = await this.read(into.length - filled);
      if (piece === null) break;
      into.set(piece, filled);
      filled += piece.length;
    }
    return filled;
  }

  /** Releases the source (e.g. destroys a Readable); does not wait for a stalled sender. */
  close(): void {
    this.#chunk = EMPTY;
    if (this.#ended) return;
    this.#ended = true;
    const done = this.#iterator.return?.();
    if (done !== undefined) done.then(undefined, () => undefined);
  }

  async #pull(): Promise<boolean> {
    while (!this.#ended) {
      const result = await this.#next();
      if (result.done === true) {
        this.#ended = true;
        return false;
      }
      const value: unknown = result.value;
      if (!(value instanceof Uint8Array)) {
        this.close();
        throw new StreamError('TAR_SOURCE_ERROR', 'the source yielded something other than bytes');
      }
      if (value.length > 0) {
        this.#chunk = value;
        return true;
      }
    }
    return false;
  }

  async #next(): Promise<IteratorResult<unknown>> {
    this.#checkAbort();
    const remaining = this.#deadline - Date.now();
    if (remaining <= 0) throw this.#timeout('overall');
    const idle = this.#deadlines.idleTimeoutMs;
    const wait = Math.min(idle, remaining);
    const which = idle < remaining ? 'idle' : 'overall';

    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#timeout(which)), wait);
      if (this.#signal !== undefined) {
        onAbort = () => reject(this.#aborted());
        this.#signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    try {
      return await Promise.race([
        this.#iterator.next().then(undefined, (cause: unknown) => {
          throw new StreamError('TAR_SOURCE_ERROR', `reading the stream failed: ${String(cause)}`, undefined, { cause });
        }),
        stop,
      ]);
    } catch (error) {
      this.close();
      throw error;
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) this.#signal?.removeEventListener('abort', onAbort);
    }
  }

  #checkAbort(): void {
    if (this.#signal?.aborted === true) {
      this.close();
      throw this.#aborted();
    }
  }

  #aborted(): StreamError {
    return new StreamError('TAR_ABORTED', 'decoding was aborted by the caller');
  }

  #timeout(which: 'idle' | 'overall'): StreamError {
    return which === 'idle'
      ? new StreamError('TAR_TIMEOUT', `the sender sent nothing for ${this.#deadlines.idleTimeoutMs} ms`)
      : new StreamError('TAR_TIMEOUT', `the stream took longer than ${this.#deadlines.overallTimeoutMs} ms`);
  }
}
