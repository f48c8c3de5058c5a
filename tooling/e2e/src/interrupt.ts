// One way out for SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal went away): run the clean-up
// once, then exit 128 + the signal's number, as a shell reports a process the signal killed.
import { constants } from 'node:os';

export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type InterruptSignal = (typeof INTERRUPT_SIGNALS)[number];

export interface InterruptState {
  /** The signal that arrived, once one did. */
  readonly signal: InterruptSignal | undefined;
}

/**
 * Installs the handlers. A second signal during the clean-up is ignored: the clean-up is bounded
 * and stopping it halfway would leave what it exists to remove.
 */
export function onInterrupt(cleanUp: (signal: InterruptSignal) => Promise<void>): InterruptState {
  const state: { signal: InterruptSignal | undefined } = { signal: undefined };
  for (const signal of INTERRUPT_SIGNALS) {
    process.on(signal, () => {
      if (state.signal !== undefined) return;
      state.signal = signal;
      // After SIGHUP the terminal is gone: a failed write must not end the clean-up.
      process.stdout.on('error', () => undefined);
      process.stderr.on('error', () => undefined);
      cleanUp(signal)
        .catch((error: unknown) => {
          process.stderr.write(`clean-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
        })
        .finally(() => process.exit(128 + constants.signals[signal]));
    });
  }
  return state;
}
