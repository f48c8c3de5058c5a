import { StageIoError } from './stage-error.ts';
import type { StagedFile } from './staged-file.ts';

/** fdatasyncs running at once: each holds a thread-pool thread, and the next member's writes need one. */
const RUNNING_LIMIT = 2;
/** Files waiting for their fdatasync before the receive loop waits too (bounds open descriptors). */
const WAITING_LIMIT = 16;

interface Waiting {
  readonly file: StagedFile;
  readonly member: string;
}

/**
 * Commits (fdatasync + close) verified members in the background while the next ones stream in,
 * so the disk writes back one file while the stage hashes the next instead of all at the end.
 * drain() resolves only when every file is on disk, and throws the first failure.
 */
export class CommitQueue {
  readonly #waiting: Waiting[] = [];
  readonly #running = new Set<Promise<void>>();
  #failure: StageIoError | undefined;

  /** Queues the file's commit; waits only while the queue is full. */
  async add(file: StagedFile, member: string): Promise<void> {
    this.#throwIfFailed();
    this.#waiting.push({ file, member });
    this.#startWaiting();
    while (this.#failure === undefined && this.#waiting.length + this.#running.size > WAITING_LIMIT) await Promise.race(this.#running);
    this.#throwIfFailed();
  }

  /** Every queued file committed, or the first failure. */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  #startWaiting(): void {
    while (this.#running.size < RUNNING_LIMIT && this.#failure === undefined) {
      const next = this.#waiting.shift();
      if (next === undefined) return;
      // settles (never rejects): the failure is kept and thrown by add() or drain()
      const run: Promise<void> = next.file.commit().then(
        () => undefined,
        (error: unknown) => {
          this.#failure ??= new StageIoError(next.member, error);
        },
      ).finally(() => {
        this.#running.delete(run);
        this.#startWaiting();
      });
      this.#running.add(run);
    }
  }
}
