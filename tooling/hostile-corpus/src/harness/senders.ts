/** Hostile senders over time: a stall, a drip, an endless stream. Each stops when the receiver exits. */

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Sends `prefix`, then nothing more, never closing: a sender that stalls forever. */
export function stallAfter(prefix: Uint8Array): (signal: AbortSignal) => AsyncIterable<Uint8Array> {
  return async function* stall(signal) {
    if (prefix.length > 0) yield prefix;
    while (!signal.aborted) await pause(1000, signal);
  };
}

/** Sends `bytes` one byte at a time, `everyMs` apart: slow retrieval that never trips an idle deadline. */
export function drip(bytes: Uint8Array, everyMs: number): (signal: AbortSignal) => AsyncIterable<Uint8Array> {
  return async function* slow(signal) {
    for (let i = 0; i < bytes.length && !signal.aborted; i += 1) {
      yield bytes.subarray(i, i + 1);
      await pause(everyMs, signal);
    }
    while (!signal.aborted) await pause(1000, signal);
  };
}

/** Sends `prefix`, then `filler` repeated without end: endless data. */
export function endless(prefix: Uint8Array, filler: Uint8Array): (signal: AbortSignal) => AsyncIterable<Uint8Array> {
  return async function* flood(signal) {
    yield prefix;
    while (!signal.aborted) {
      yield filler;
      // Let the abort (receiver exit) be seen between chunks.
      await pause(0, signal);
    }
  };
}
