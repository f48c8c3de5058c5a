/**
 * SIGINT, SIGTERM and SIGHUP during a run. The agent and the receiver run in their own process
 * groups (so a timeout can end everything they started), which also means a Ctrl-C on dom0's
 * terminal never reaches them: dom0-update catches the signal, hands it on to whatever is running
 * (agent-process.ts, dom0-dnf.ts), waits for it to end, releases its lock and exits 128+N.
 */
import { EXIT, InterruptedError } from './errors.ts';

export type InterruptSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

const SIGNALS: readonly InterruptSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const EXIT_CODES = {
  SIGHUP: EXIT.hangup,
  SIGINT: EXIT.interrupted,
  SIGTERM: EXIT.terminated,
} as const;

export interface Interrupt {
  /** The first signal received, if any. */
  readonly signal: InterruptSignal | undefined;
  /** Calls `listener` once, on the first signal (at once if one already came); returns an unsubscribe. */
  onSignal(listener: (signal: InterruptSignal) => void): () => void;
  /** Throws InterruptedError if a signal came: called between stages, so no new stage starts. */
  throwIfInterrupted(): void;
}

/** An interrupt that never fires (library callers, unit tests). */
export const NEVER_INTERRUPTED: Interrupt = {
  signal: undefined,
  onSignal: () => () => undefined,
  throwIfInterrupted: () => undefined,
};

/** `what`: what the signal stopped, for the message. */
export function interruptedError(signal: InterruptSignal, what = 'the run stopped before its next step'): InterruptedError {
  return new InterruptedError('INTERRUPTED', `interrupted by ${signal}: ${what}`, EXIT_CODES[signal]);
}

/**
 * Catches the three signals until `dispose` is called. Later signals are ignored: the first one
 * was already handed on, and dom0's dnf (in our own process group) gets a terminal's Ctrl-C itself.
 */
export function watchSignals(): Interrupt & { dispose(): void } {
  let received: InterruptSignal | undefined;
  const listeners = new Set<(signal: InterruptSignal) => void>();
  const handler = (signal: NodeJS.Signals): void => {
    if (received !== undefined) return;
    received = SIGNALS.find((s) => s === signal) ?? 'SIGTERM';
    for (const listener of [...listeners]) listener(received);
    listeners.clear();
  };
  for (const signal of SIGNALS) process.on(signal, handler);
  return {
    get signal() {
      return received;
    },
    onSignal(listener) {
      if (received !== undefined) {
        listener(received);
        return () => undefined;
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    throwIfInterrupted() {
      if (received !== undefined) throw interruptedError(received);
    },
    dispose() {
      for (const signal of SIGNALS) process.off(signal, handler);
      listeners.clear();
    },
  };
}
