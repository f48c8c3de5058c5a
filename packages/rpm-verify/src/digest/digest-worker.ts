import { Worker } from 'node:worker_threads';
import { RpmVerifyError } from '../errors.ts';
import {
  CONTROL_FAILED,
  CONTROL_READ,
  CONTROL_SLOTS,
  CONTROL_WRITTEN,
  MAX_JOBS_PER_RECORD,
  MAX_LANES,
  MAX_RECORD_DATA,
  NO_JOB,
  OP_BEGIN,
  OP_BEGIN_WRITE,
  OP_DATA,
  OP_DROP,
  OP_END,
  OP_STOP,
  RECORD_HEADER_BYTES,
  recordBytes,
  RING_BYTES,
  WORD_JOBS,
  WORD_LANE,
  WORD_OP,
  WORD_POSITION,
  WORD_VALUE,
  WORKER_ALGORITHMS,
  type WorkerAlgorithm,
} from './ring.ts';
import { digestWorkerMain, type LaneMessage } from './worker-main.ts';

/** A worker that makes no progress for this long is treated as dead rather than waited on forever. */
const STALL_LIMIT_MS = 60_000;
const WAIT_SLICE_MS = 1_000;

interface Pending {
  settle(message: LaneMessage): void;
  reject(error: Error): void;
}

/** A write job's failure, with the errno code of the write that failed (e.g. ENOSPC). */
export class LaneWriteError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'LaneWriteError';
    this.code = code;
  }
}

/**
 * Long-lived threads ("lanes") that compute digests for the verifier, so other cores hash while
 * the caller's thread does the rest. Bytes are copied once into a bounded shared ring that every
 * lane reads (the caller's chunks stay the caller's); each job runs on the lane it was begun on.
 * A job is a digest, or a write of its bytes to a descriptor the caller opened, so the bytes
 * being hashed reach their file from the same copy. When the ring is full the caller's thread
 * waits for the slowest lane, which bounds memory whatever the input size. One worker serves any
 * number of verifiers, one after another or interleaved.
 */
export class DigestWorker {
  readonly #threads: readonly Worker[];
  readonly #control: Int32Array;
  readonly #ring: Uint8Array;
  readonly #words: Int32Array;
  readonly #pending = new Map<number, Pending>();
  /** write jobs whose lane reported a failed write before the job ended */
  readonly #failedWrites = new Map<number, LaneWriteError>();
  /** settles once every lane's thread has ended, however */
  readonly #exited: Promise<void>;
  #written = 0;
  #nextJob = 0;
  #failure: RpmVerifyError | undefined;
  #stopped = false;

  private constructor(lanes: number) {
    this.#control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
    const ringBuffer = new SharedArrayBuffer(RING_BYTES);
    this.#ring = new Uint8Array(ringBuffer);
    this.#words = new Int32Array(ringBuffer);
    const source = [
      "const { workerData, parentPort } = require('node:worker_threads');",
      "const { createHash } = require('node:crypto');",
      "const { writeSync } = require('node:fs');",
      `(${String(digestWorkerMain)})({`,
      '  control: new Int32Array(workerData.control), ring: new Uint8Array(workerData.ring), lane: workerData.lane,',
      '  algorithms: workerData.algorithms, createHash, writeSync, post: (message) => parentPort.postMessage(message),',
      '});',
    ].join('\n');
    const threads: Worker[] = [];
    try {
      for (let lane = 0; lane < lanes; lane += 1) {
        const thread = new Worker(source, {
          eval: true,
          workerData: { control: this.#control.buffer, ring: ringBuffer, lane, algorithms: [...WORKER_ALGORITHMS] },
          // nothing in a lane needs a heap of its own beyond a few hash contexts
          resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 1 },
        });
        // an idle worker must not keep the process alive (#holdWhilePending refs it while a report is awaited)
        thread.unref();
        thread.on('message', (message: unknown) => this.#onMessage(message));
        // Not seen while this thread blocks in Atomics.wait for room: a lane killed without running
        // its own catch (out of memory) shows as a stall after STALL_LIMIT_MS, still RPM_STATE.
        thread.on('error', (error) => this.#failAll(`digest worker failed: ${error.message}`));
        thread.on('exit', (code) => {
          if (!this.#stopped) this.#failAll(`digest worker exited (${code})`);
        });
        threads.push(thread);
      }
    } catch (error) {
      for (const thread of threads) void thread.terminate();
      throw error;
    }
    this.#threads = threads;
    this.#exited = Promise.all(threads.map((thread) => new Promise<void>((resolve) => thread.once('exit', () => resolve())))).then(() => undefined);
  }

  /** Starts `lanes` threads (1 to 4; needs `--allow-worker` under Node's permission model). */
  static start(lanes = 1): DigestWorker {
    if (!Number.isSafeInteger(lanes) || lanes < 1 || lanes > MAX_LANES) {
      throw new RpmVerifyError('RPM_STATE', `a digest worker has 1 to ${MAX_LANES} lanes, not ${String(lanes)}`);
    }
    try {
      return new DigestWorker(lanes);
    } catch (error) {
      throw new RpmVerifyError('RPM_STATE', `cannot start the digest worker: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Starts a digest on a lane (an out-of-range lane is the last one); returns its job number. */
  begin(algorithm: WorkerAlgorithm, lane = 0): number {
    const job = this.#newJob();
    this.#put(OP_BEGIN, WORKER_ALGORITHMS.indexOf(algorithm), this.#lane(lane), [job], undefined);
    return job;
  }

  /**
   * Starts a job that writes every byte fed to it, in order, to `fd`. The descriptor stays the
   * caller's, who must not close it before written() has settled: the lane writes later than
   * update() returns.
   */
  beginWrite(fd: number, lane = 0): number {
    if (!Number.isSafeInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new RpmVerifyError('RPM_STATE', `not a descriptor: ${String(fd)}`);
    const job = this.#newJob();
    this.#put(OP_BEGIN_WRITE, fd, this.#lane(lane), [job], undefined);
    return job;
  }

  #newJob(): number {
    const job = this.#nextJob;
    this.#nextJob = (this.#nextJob + 1) & 0x3fffffff;
    return job;
  }

  #lane(lane: number): number {
    return Math.max(0, Math.min(this.#threads.length - 1, Math.trunc(lane)));
  }

  /** Feeds bytes to up to four jobs, whatever their lanes, with a single copy into the ring. */
  update(jobs: readonly number[], bytes: Uint8Array): void {
    if (jobs.length === 0) return;
    if (jobs.length > MAX_JOBS_PER_RECORD) throw new RpmVerifyError('RPM_STATE', `one update feeds at most ${MAX_JOBS_PER_RECORD} digests`);
    for (let offset = 0; offset < bytes.length; offset += MAX_RECORD_DATA) {
      this.#put(OP_DATA, 0, 0, jobs, bytes.subarray(offset, offset + MAX_RECORD_DATA));
    }
  }

  /** Ends a digest; resolves with its value once its lane has hashed every byte fed before. */
  digest(job: number): Promise<Buffer> {
    return this.#end(job, (message, resolve: (digest: Buffer) => void, reject) => {
      if ('digest' in message) resolve(Buffer.from(message.digest.buffer, message.digest.byteOffset, message.digest.byteLength));
      else reject(new RpmVerifyError('RPM_STATE', `job ${job} is not a digest`));
    });
  }

  /**
   * Ends a write job; resolves with the number of bytes written once its lane has written every
   * byte fed before, or rejects with LaneWriteError naming the errno of the write that failed.
   * Only then may the caller close the descriptor.
   */
  written(job: number): Promise<number> {
    return this.#end(job, (message, resolve: (bytes: number) => void, reject) => {
      if ('written' in message) resolve(message.written);
      else if ('writeError' in message) reject(new LaneWriteError(message.writeError.code, message.writeError.message));
      else reject(new RpmVerifyError('RPM_STATE', `job ${job} is not a write`));
    });
  }

  /**
   * A write job's failure as soon as its lane has reported it (before the job ends), so the caller
   * can stop feeding a file that will not be complete; undefined while its writes succeed.
   */
  writeFailure(job: number): LaneWriteError | undefined {
    return this.#failedWrites.get(job);
  }

  #end<T>(job: number, settle: (message: LaneMessage, resolve: (value: T) => void, reject: (error: Error) => void) => void): Promise<T> {
    try {
      this.#put(OP_END, 0, 0, [job], undefined);
    } catch (error) {
      // Stopped or failed: said only once no lane can still act on the job (a stopped worker's
      // lanes finish the records queued before the stop; a write job's descriptor must stay open).
      return this.#exited.then(() => Promise.reject(error instanceof Error ? error : new Error(String(error))));
    }
    // the lane's report comes as a message, on a later turn than this registration
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(job, { settle: (message) => settle(message, resolve, reject), reject });
      this.#holdWhilePending();
    });
  }

  /** Forgets a digest that will never be asked for (a rejected package). */
  drop(job: number): void {
    if (this.#failure !== undefined || this.#stopped) return;
    this.#put(OP_DROP, 0, 0, [job], undefined);
  }

  /** Lets the lanes end; resolves once they have (jobs ended before are still reported). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    try {
      if (this.#failure === undefined) this.#put(OP_STOP, 0, 0, [], undefined);
    } finally {
      this.#stopped = true;
    }
    if (this.#failure !== undefined) await Promise.all(this.#threads.map((thread) => thread.terminate()));
    // the caller waits for the lanes to end: they keep the process alive until they have
    for (const thread of this.#threads) thread.ref();
    await this.#exited;
  }

  #put(op: number, value: number, lane: number, jobs: readonly number[], data: Uint8Array | undefined): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#stopped) throw new RpmVerifyError('RPM_STATE', 'the digest worker was stopped');
    const length = data?.length ?? 0;
    const need = recordBytes(length);
    this.#waitForRoom(need);
    const at = (this.#written >>> 0) % RING_BYTES;
    const word = at / 4;
    this.#words.fill(NO_JOB, word, word + RECORD_HEADER_BYTES / 4);
    this.#words[word + WORD_OP] = op;
    this.#words[word + WORD_VALUE] = op === OP_DATA ? length : value;
    this.#words[word + WORD_LANE] = lane;
    this.#words[word + WORD_POSITION] = this.#written;
    for (let j = 0; j < jobs.length; j += 1) this.#words[word + WORD_JOBS + j] = jobs[j] ?? NO_JOB;
    if (data !== undefined && length > 0) {
      const start = (at + RECORD_HEADER_BYTES) % RING_BYTES;
      const first = Math.min(length, RING_BYTES - start);
      this.#ring.set(first === length ? data : data.subarray(0, first), start);
      if (first < length) this.#ring.set(data.subarray(first), 0);
    }
    this.#written = (this.#written + need) | 0;
    // the store publishes the record (Atomics are sequentially consistent for the plain writes before)
    Atomics.store(this.#control, CONTROL_WRITTEN, this.#written);
    Atomics.notify(this.#control, CONTROL_WRITTEN);
  }

  /** Blocks this thread until the slowest lane has freed `need` bytes: the back-pressure. */
  #waitForRoom(need: number): void {
    let waited = 0;
    for (;;) {
      if (Atomics.load(this.#control, CONTROL_FAILED) !== 0) throw this.#failAll('digest worker failed');
      let slowest = CONTROL_READ;
      let used = 0;
      for (let lane = 0; lane < this.#threads.length; lane += 1) {
        const laneUsed = (this.#written - Atomics.load(this.#control, CONTROL_READ + lane)) | 0;
        if (laneUsed >= used) {
          used = laneUsed;
          slowest = CONTROL_READ + lane;
        }
      }
      if (RING_BYTES - used >= need) return;
      const read = (this.#written - used) | 0;
      if (Atomics.wait(this.#control, slowest, read, WAIT_SLICE_MS) === 'timed-out') {
        waited += WAIT_SLICE_MS;
        if (waited >= STALL_LIMIT_MS) throw this.#failAll('digest worker stalled');
      }
    }
  }

  /**
   * Keeps the process alive while a caller awaits a lane's report (otherwise a program with
   * nothing else to wait for would end with the promise unsettled), and lets it end when idle.
   */
  #holdWhilePending(): void {
    const hold = this.#pending.size > 0;
    for (const thread of this.#threads) {
      if (hold) thread.ref();
      else thread.unref();
    }
  }

  #onMessage(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    if ('failure' in message) {
      this.#failAll(`digest worker failed: ${String(message.failure)}`);
      return;
    }
    if (!('job' in message) || typeof message.job !== 'number') return;
    const report = message as LaneMessage & { job: number };
    if ('writeFailed' in report) {
      this.#failedWrites.set(report.job, new LaneWriteError(report.writeFailed.code, report.writeFailed.message));
      return;
    }
    this.#failedWrites.delete(report.job);
    const pending = this.#pending.get(report.job);
    this.#pending.delete(report.job);
    this.#holdWhilePending();
    pending?.settle(report);
  }

  #failAll(reason: string): RpmVerifyError {
    if (this.#failure === undefined) {
      // no lane may go on writing to a caller's descriptor once the caller is told of the failure
      for (const thread of this.#threads) void thread.terminate().catch(() => undefined);
    }
    const error = (this.#failure ??= new RpmVerifyError('RPM_STATE', reason));
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#holdWhilePending();
    return error;
  }
}
