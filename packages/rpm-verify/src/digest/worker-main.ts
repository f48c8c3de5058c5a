/**
 * The digest worker's whole program. It runs in a worker thread started from source text
 * (`String(digestWorkerMain)`), so it must be self-contained: everything it uses comes in
 * through its parameters, and the layout numbers are repeated from ring.ts (the tests drive
 * every record kind across the ring's wrap, so a mismatch fails them).
 */

export interface WorkerHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}

export interface WorkerEnvironment {
  readonly control: Int32Array;
  readonly ring: Uint8Array;
  readonly algorithms: readonly string[];
  readonly createHash: (algorithm: string) => WorkerHash;
  readonly post: (message: { job: number; digest: Uint8Array } | { failure: string }) => void;
}

/** Consumes records until STOP; blocks on the shared counter while the ring is empty. */
export function digestWorkerMain(env: WorkerEnvironment): void {
  const WRITTEN = 0;
  const READ = 1;
  const FAILED = 2;
  const HEADER = 16;
  const ALIGN = 16;
  const BEGIN = 1;
  const DATA = 2;
  const END = 3;
  const DROP = 4;
  const STOP = 5;
  const { control, ring, algorithms, createHash, post } = env;
  const size = ring.length;
  const words = new Int32Array(ring.buffer, ring.byteOffset, size / 4);
  const jobs = new Map<number, WorkerHash>();
  let read = Atomics.load(control, READ);

  const feed = (job: number, start: number, length: number): void => {
    const hash = jobs.get(job);
    if (hash === undefined) return;
    const first = Math.min(length, size - start);
    hash.update(ring.subarray(start, start + first));
    if (first < length) hash.update(ring.subarray(0, length - first));
  };

  try {
    for (;;) {
      let written = Atomics.load(control, WRITTEN);
      while (written === read) {
        Atomics.wait(control, WRITTEN, read);
        written = Atomics.load(control, WRITTEN);
      }
      while (read !== written) {
        const at = (read >>> 0) % size;
        const op = words[at / 4] ?? 0;
        const length = words[at / 4 + 1] ?? 0;
        const jobA = words[at / 4 + 2] ?? -1;
        const jobB = words[at / 4 + 3] ?? -1;
        const dataAt = (at + HEADER) % size;
        if (op === BEGIN) {
          const algorithm = algorithms[length];
          if (algorithm === undefined) throw new Error(`unknown algorithm index ${length}`);
          jobs.set(jobA, createHash(algorithm));
        } else if (op === DATA) {
          feed(jobA, dataAt, length);
          if (jobB !== -1) feed(jobB, dataAt, length);
        } else if (op === END) {
          const hash = jobs.get(jobA);
          jobs.delete(jobA);
          if (hash !== undefined) post({ job: jobA, digest: hash.digest() });
        } else if (op === DROP) {
          jobs.delete(jobA);
        } else if (op === STOP) {
          return;
        } else {
          throw new Error(`unknown record ${op}`);
        }
        const data = op === DATA ? Math.ceil(length / ALIGN) * ALIGN : 0;
        read = (read + HEADER + data) | 0;
        Atomics.store(control, READ, read);
        Atomics.notify(control, READ);
      }
    }
  } catch (error) {
    Atomics.store(control, FAILED, 1);
    Atomics.notify(control, READ);
    post({ failure: error instanceof Error ? error.message : String(error) });
  }
}
