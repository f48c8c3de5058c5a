/**
 * SIGINT, SIGTERM and SIGHUP during a run. The agent and the receiver run in their own process
 * groups (so a timeout can end everything they started), which also means a Ctrl-C on dom0's
 * terminal never reaches them: dom0-update catches the signal, hands it on to whatever is running
 * (agent-process.ts, dom0-dnf.ts), waits for it to end, releases its lock and exits 128+N. A
 * signal that comes again goes to the repeat listeners: the agent and the receiver are then killed
 * without their grace; dnf never is.
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
  /** Calls `listener` on every signal after the first (Ctrl-C pressed again); returns an unsubscribe. */
  onRepeat(listener: (signal: InterruptSignal) => void): () => void;
  /** Throws InterruptedError if a signal came: called between stages, so no new stage starts. */
  throwIfInterrupted(): void;
}

/** An interrupt that never fires (library callers, unit tests). */
export const NEVER_INTERRUPTED: Interrupt = {
  signal: undefined,
  onSignal: () => () => undefined,
  onRepeat: () => () => undefined,
  throwIfInterrupted: () => undefined,
};

/** `what`: what the signal stopped, for the message. */
export function interruptedError(signal: InterruptSignal, what = 'the run stopped before its next step'): InterruptedError {
  return new InterruptedError('INTERRUPTED', `interrupted by ${signal}: ${what}`, EXIT_CODES[signal]);
}

/**
 * Catches the three signals until `dispose` is called. The first one is handed on to whatever runs;
 * later ones go to the repeat listeners only (the stage that is running decides what "again" means:
 * the agent and the receiver are killed at once, dom0's dnf never is).
 */
export function watchSignals(): Interrupt & { dispose(): void } {
  let received: InterruptSignal | undefined;
  const listeners = new Set<(signal: InterruptSignal) => void>();
  const repeatListeners = new Set<(signal: InterruptSignal) => void>();
  const handler = (signal: NodeJS.Signals): void => {
    const known = SIGNALS.find((s) => s === signal) ?? 'SIGTERM';
    if (received !== undefined) {
      for (const listener of [...repeatListeners]) listener(known);
      return;
    }
    received = known;
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
    onRepeat(listener) {
      repeatListeners.add(listener);
      return () => repeatListeners.delete(listener);
    },
    throwIfInterrupted() {
      if (received !== undefined) throw interruptedError(received);
    },
    dispose() {
      for (const signal of SIGNALS) process.off(signal, handler);
      listeners.clear();
      repeatListeners.clear();
    },
  };
}
