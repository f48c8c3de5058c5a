import { constants } from 'node:os';
import { InterruptedError } from '../errors.ts';

const HANDLED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * SIGINT, SIGTERM or SIGHUP during a receive. Dying on the spot would leave the stage running,
 * its staging dir and the lock behind; instead the stage is stopped, the batch is rejected and
 * recorded as interrupted, and the exit code says which signal it was (128 + its number).
 * createrepo_c is stopped too (nothing is published before the switch); the switch itself, short
 * and atomic, is finished, never cut in half.
 */
export class Interruption {
  readonly #controller = new AbortController();
  readonly #listeners = new Map<NodeJS.Signals, () => void>();
  #received: NodeJS.Signals | undefined;
  readonly #observers = new Set<() => void>();

  private constructor() {}

  static install(): Interruption {
    const interruption = new Interruption();
    for (const name of HANDLED) {
      const listener = (): void => interruption.#onSignal(name);
      interruption.#listeners.set(name, listener);
      process.on(name, listener);
    }
    return interruption;
  }

  /** Aborts when the first signal arrives; the stage listens to it. */
  get abortSignal(): AbortSignal {
    return this.#controller.signal;
  }

  get received(): NodeJS.Signals | undefined {
    return this.#received;
  }

  /** The rejection to record, or undefined while no signal came. */
  error(): InterruptedError | undefined {
    return this.#received === undefined ? undefined : new InterruptedError(this.#received);
  }

  /** 128 + the signal's number, the shell's convention for "killed by". */
  exitCode(fallback: number): number {
    return this.#received === undefined ? fallback : 128 + constants.signals[this.#received];
  }

  /** Calls `listener` at every signal from now on; returns what removes it. */
  onSignal(listener: () => void): () => void {
    this.#observers.add(listener);
    return () => this.#observers.delete(listener);
  }

  dispose(): void {
    for (const [name, listener] of this.#listeners) process.off(name, listener);
    this.#listeners.clear();
  }

  #onSignal(name: NodeJS.Signals): void {
    for (const observer of this.#observers) observer();
    // a second signal changes nothing: the first one already stops the batch
    if (this.#received !== undefined) return;
    this.#received = name;
    this.#controller.abort();
  }
}
