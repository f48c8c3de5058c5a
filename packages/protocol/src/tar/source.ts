import { StreamError } from '../errors.ts';
import { afterDelay } from '../timer.ts';

export interface Deadlines {
  /** Longest wait for the next bytes from the sender. */
  readonly idleTimeoutMs: number;
  /** Longest time from the start of decoding to its end. */
  readonly overallTimeoutMs: number;
}

const EMPTY = new Uint8Array(0);
/** Monotonic milliseconds: a wall-clock step (dom0 takes its time from another VM) moves no deadline. */
const now = (): number => performance.now();

/** One macrotask turn, so timers and the abort signal get to run between empty chunks. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Pulls bytes from an untrusted async source one chunk at a time, holding at most that one chunk.
 * Every wait for the sender is bounded by the idle and overall deadlines and by the abort signal;
 * time the consumer spends on a chunk is not counted as the sender being idle. Chunks are handed
 * out as views, never copied, so the source must not reuse a chunk's memory after yielding it.
 */
export class ByteSource {
  readonly #source: AsyncIterable<Uint8Array>;
  #iterator: AsyncIterator<unknown> | undefined;
  readonly #deadlines: Deadlines;
  readonly #signal: AbortSignal | undefined;
  readonly #deadline: number;
  #chunk: Uint8Array = EMPTY;
  #ended = false;

  constructor(source: AsyncIterable<Uint8Array>, deadlines: Deadlines, signal?: AbortSignal) {
    this.#source = source;
    this.#deadlines = deadlines;
    this.#signal = signal;
    this.#deadline = now() + deadlines.overallTimeoutMs;
  }

  /** Up to `max` bytes (a view into the current chunk), or null at the end of the stream. */
  async read(max: number): Promise<Uint8Array | null> {
    // Checked on every read, not only on waits: one huge chunk must not outlive an abort.
    this.#checkAbort();
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
    try {
      const done = this.#iterator?.return?.();
      if (done !== undefined) Promise.resolve(done).then(undefined, () => undefined);
    } catch {
      // The source is being dropped; how it fails to close changes nothing.
    }
  }

  async #pull(): Promise<boolean> {
    // The idle deadline runs from the start of this wait; empty chunks are not progress.
    const idleDeadline = now() + this.#deadlines.idleTimeoutMs;
    while (!this.#ended) {
      const result = await this.#next(idleDeadline);
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
      // A flood of already-resolved empty chunks would otherwise starve timers and abort events.
      await nextTurn();
    }
    return false;
  }

  /** The source's next result, as a promise that rejects with TAR_SOURCE_ERROR however it fails. */
  #ask(): Promise<IteratorResult<unknown>> {
    const failed = (cause: unknown): StreamError =>
      new StreamError('TAR_SOURCE_ERROR', `reading the stream failed: ${String(cause)}`, undefined, { cause });
    let pending: Promise<unknown>;
    try {
      this.#iterator ??= this.#source[Symbol.asyncIterator]();
      pending = Promise.resolve(this.#iterator.next());
    } catch (cause) {
      return Promise.reject(failed(cause));
    }
    return pending.then(
      (result) => {
        if (typeof result !== 'object' || result === null) {
          throw new StreamError('TAR_SOURCE_ERROR', 'the source returned something other than an iterator result');
        }
        return result as IteratorResult<unknown>;
      },
      (cause: unknown) => {
        throw failed(cause);
      },
    );
  }

  async #next(idleDeadline: number): Promise<IteratorResult<unknown>> {
    this.#checkAbort();
    const overall = this.#deadline;
    const which = idleDeadline < overall ? 'idle' : 'overall';
    const until = Math.min(idleDeadline, overall);
    if (now() >= until) {
      this.close();
      throw this.#timeout(which);
    }

    let cancelTimer: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      cancelTimer = afterDelay(until - now(), () => reject(this.#timeout(which)));
      if (this.#signal !== undefined) {
        onAbort = () => reject(this.#aborted());
        this.#signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    try {
      return await Promise.race([this.#ask(), stop]);
    } catch (error) {
      this.close();
      throw error;
    } finally {
      cancelTimer?.();
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
