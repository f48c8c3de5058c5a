/**
 * The program of one lane of the digest worker. It runs in a worker thread started from source
 * text (`String(digestWorkerMain)`), so it must be self-contained: everything it uses comes in
 * through its parameters, and the layout numbers are repeated from ring.ts (the tests drive
 * every record kind across the ring's wrap and across lanes, so a mismatch fails them).
 */

export interface WorkerHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}

/** What a lane posts back when a job ends (or when the lane itself fails). */
export type LaneMessage =
  | { job: number; digest: Uint8Array }
  | { job: number; written: number }
  | { job: number; writeError: { code: string; message: string } }
  /** sent as soon as a write fails, so the caller can stop feeding the job before it ends */
  | { job: number; writeFailed: { code: string; message: string } }
  | { failure: string };

export interface WorkerEnvironment {
  readonly control: Int32Array;
  readonly ring: Uint8Array;
  /** this thread's lane: it reads every record and acts on the jobs begun for this lane only */
  readonly lane: number;
  readonly algorithms: readonly string[];
  readonly createHash: (algorithm: string) => WorkerHash;
  /** fs.writeSync: writes to a descriptor the caller opened; the lane never opens anything */
  readonly writeSync: (fd: number, data: Uint8Array, offset: number, length: number) => number;
  readonly post: (message: LaneMessage) => void;
}

/** Consumes records until STOP; blocks on the shared counter while the ring is empty. */
export function digestWorkerMain(env: WorkerEnvironment): void {
  const WRITTEN = 0;
  const FAILED = 1;
  const READ = 2 + env.lane;
  const HEADER = 32;
  const ALIGN = 32;
  const JOBS = 3;
  const MAX_JOBS = 4;
  const POSITION = 7;
  const BEGIN = 1;
  const DATA = 2;
  const END = 3;
  const DROP = 4;
  const STOP = 5;
  const BEGIN_WRITE = 6;
  const { control, ring, lane, algorithms, createHash, writeSync, post } = env;
  const size = ring.length;
  const words = new Int32Array(ring.buffer, ring.byteOffset, size / 4);

  interface Job {
    update(data: Uint8Array): void;
    end(job: number): LaneMessage;
  }
  const hashJob = (hash: WorkerHash): Job => ({
    update: (data) => void hash.update(data),
    end: (job) => ({ job, digest: hash.digest() }),
  });
  // a failed write is reported at once (writeFailed) and again when the job ends (writeError); the
  // rest of its bytes are not attempted
  const writeJob = (fd: number, job: number): Job => {
    let written = 0;
    let failed: { code: string; message: string } | undefined;
    return {
      update(data) {
        if (failed !== undefined) return;
        try {
          for (let at = 0; at < data.length; ) {
            const n = writeSync(fd, data, at, data.length - at);
            if (n <= 0) throw Object.assign(new Error('the file system accepted no bytes'), { code: 'EIO' });
            at += n;
          }
          written += data.length;
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          failed = { code: typeof code === 'string' ? code : 'EIO', message: error instanceof Error ? error.message : String(error) };
          post({ job, writeFailed: failed });
        }
      },
      end: (job) => (failed === undefined ? { job, written } : { job, writeError: failed }),
    };
  };
  const jobs = new Map<number, Job>();
  let read = Atomics.load(control, READ);

  const feed = (job: number, start: number, length: number): void => {
    const target = jobs.get(job);
    if (target === undefined) return;
    const first = Math.min(length, size - start);
    target.update(ring.subarray(start, start + first));
    if (first < length) target.update(ring.subarray(0, length - first));
  };

  try {
    for (;;) {
      let written = Atomics.load(control, WRITTEN);
      while (written === read) {
        Atomics.wait(control, WRITTEN, read);
        written = Atomics.load(control, WRITTEN);
      }
      while (read !== written) {
        const at = ((read >>> 0) % size) / 4;
        if (words[at + POSITION] !== read) throw new Error(`ring out of step at ${read}`);
        const op = words[at] ?? 0;
        const value = words[at + 1] ?? 0;
        const mine = words[at + 2] === lane;
        const first = words[at + JOBS] ?? -1;
        if (op === DATA) {
          const dataAt = (at * 4 + HEADER) % size;
          for (let j = 0; j < MAX_JOBS; j += 1) {
            const job = words[at + JOBS + j] ?? -1;
            if (job !== -1) feed(job, dataAt, value);
          }
        } else if (op === BEGIN) {
          const algorithm = algorithms[value];
          if (algorithm === undefined) throw new Error(`unknown algorithm index ${value}`);
          if (mine) jobs.set(first, hashJob(createHash(algorithm)));
        } else if (op === BEGIN_WRITE) {
          if (mine) jobs.set(first, writeJob(value, first));
        } else if (op === END) {
          const job = jobs.get(first);
          jobs.delete(first);
          if (job !== undefined) post(job.end(first));
        } else if (op === DROP) {
          jobs.delete(first);
        } else if (op === STOP) {
          return;
        } else {
          throw new Error(`unknown record ${op}`);
        }
        const data = op === DATA ? Math.ceil(value / ALIGN) * ALIGN : 0;
        read = (read + HEADER + data) | 0;
        Atomics.store(control, READ, read);
        Atomics.notify(control, READ);
      }
    }
  } catch (error) {
    Atomics.store(control, FAILED, 1);
    // the writer may be waiting on any lane's counter
    for (let slot = 2; slot < control.length; slot += 1) Atomics.notify(control, slot);
    post({ failure: error instanceof Error ? error.message : String(error) });
  }
}
