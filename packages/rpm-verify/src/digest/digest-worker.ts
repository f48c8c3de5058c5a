import { Worker } from 'node:worker_threads';
import { RpmVerifyError } from '../errors.ts';
import {
  CONTROL_FAILED,
  CONTROL_READ,
  CONTROL_SLOTS,
  CONTROL_WRITTEN,
  MAX_RECORD_DATA,
  NO_JOB,
  OP_BEGIN,
  OP_DATA,
  OP_DROP,
  OP_END,
  OP_STOP,
  RECORD_HEADER_BYTES,
  recordBytes,
  RING_BYTES,
  WORKER_ALGORITHMS,
  type WorkerAlgorithm,
} from './ring.ts';
import { digestWorkerMain } from './worker-main.ts';

/** A worker that makes no progress for this long is treated as dead rather than waited on forever. */
const STALL_LIMIT_MS = 60_000;
const WAIT_SLICE_MS = 1_000;

interface Pending {
  resolve(digest: Buffer): void;
  reject(error: RpmVerifyError): void;
}

/**
 * A long-lived thread that computes digests for the verifier, so a second core hashes while
 * the caller's thread does the rest. Bytes are copied into a bounded shared ring (the caller's
 * chunks stay the caller's: they may still be queued for a file write); when the ring is full
 * the caller's thread waits for the worker, which bounds memory whatever the input size.
 * One worker serves any number of verifiers, one after another or interleaved.
 */
export class DigestWorker {
  readonly #worker: Worker;
  readonly #control: Int32Array;
  readonly #ring: Uint8Array;
  readonly #words: Int32Array;
  readonly #pending = new Map<number, Pending>();
  #written = 0;
  #nextJob = 0;
  #failure: RpmVerifyError | undefined;
  #stopped = false;

  private constructor() {
    this.#control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
    const ringBuffer = new SharedArrayBuffer(RING_BYTES);
    this.#ring = new Uint8Array(ringBuffer);
    this.#words = new Int32Array(ringBuffer);
    const source = [
      "const { workerData, parentPort } = require('node:worker_threads');",
      "const { createHash } = require('node:crypto');",
      `(${String(digestWorkerMain)})({`,
      '  control: new Int32Array(workerData.control), ring: new Uint8Array(workerData.ring), algorithms: workerData.algorithms,',
      '  createHash, post: (message) => parentPort.postMessage(message),',
      '});',
    ].join('\n');
    this.#worker = new Worker(source, {
      eval: true,
      workerData: { control: this.#control.buffer, ring: ringBuffer, algorithms: [...WORKER_ALGORITHMS] },
      // nothing in the worker needs a heap of its own beyond a few hash contexts
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 1 },
    });
    // an idle worker must not keep the process alive
    this.#worker.unref();
    this.#worker.on('message', (message: unknown) => this.#onMessage(message));
    this.#worker.on('error', (error) => this.#failAll(`digest worker failed: ${error.message}`));
    this.#worker.on('exit', (code) => {
      if (!this.#stopped) this.#failAll(`digest worker exited (${code})`);
    });
  }

  /** Starts the worker thread (needs `--allow-worker` under Node's permission model). */
  static start(): DigestWorker {
    try {
      return new DigestWorker();
    } catch (error) {
      throw new RpmVerifyError('RPM_STATE', `cannot start the digest worker: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Starts a digest; returns its job number. */
  begin(algorithm: WorkerAlgorithm): number {
    const job = this.#nextJob;
    this.#nextJob = (this.#nextJob + 1) & 0x3fffffff;
    this.#put(OP_BEGIN, WORKER_ALGORITHMS.indexOf(algorithm), job, NO_JOB, undefined);
    return job;
  }

  /** Feeds bytes to one or two digests with a single copy into the ring. */
  update(jobA: number, jobB: number | undefined, bytes: Uint8Array): void {
    for (let offset = 0; offset < bytes.length; offset += MAX_RECORD_DATA) {
      this.#put(OP_DATA, 0, jobA, jobB ?? NO_JOB, bytes.subarray(offset, offset + MAX_RECORD_DATA));
    }
  }

  /** Ends a digest; resolves with its value once the worker has hashed every byte fed before. */
  digest(job: number): Promise<Buffer> {
    const result = new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(job, { resolve, reject });
    });
    try {
      this.#put(OP_END, 0, job, NO_JOB, undefined);
    } catch (error) {
      this.#pending.delete(job);
      throw error;
    }
    return result;
  }

  /** Forgets a digest that will never be asked for (a rejected package). */
  drop(job: number): void {
    if (this.#failure !== undefined || this.#stopped) return;
    this.#put(OP_DROP, 0, job, NO_JOB, undefined);
  }

  /** Lets the worker end; digests asked for before are still delivered. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    if (this.#failure === undefined) this.#put(OP_STOP, 0, NO_JOB, NO_JOB, undefined);
    this.#stopped = true;
    if (this.#failure !== undefined) await this.#worker.terminate();
  }

  #put(op: number, value: number, jobA: number, jobB: number, data: Uint8Array | undefined): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#stopped) throw new RpmVerifyError('RPM_STATE', 'the digest worker was stopped');
    const length = data?.length ?? 0;
    const need = recordBytes(length);
    this.#waitForRoom(need);
    const at = (this.#written >>> 0) % RING_BYTES;
    const word = at / 4;
    this.#words[word] = op;
    this.#words[word + 1] = op === OP_DATA ? length : value;
    this.#words[word + 2] = jobA;
    this.#words[word + 3] = jobB;
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

  /** Blocks this thread until the worker has freed `need` bytes: the back-pressure. */
  #waitForRoom(need: number): void {
    let waited = 0;
    for (;;) {
      if (Atomics.load(this.#control, CONTROL_FAILED) !== 0) throw this.#failAll('digest worker failed');
      const read = Atomics.load(this.#control, CONTROL_READ);
      const used = (this.#written - read) | 0;
      if (RING_BYTES - used >= need) return;
      if (Atomics.wait(this.#control, CONTROL_READ, read, WAIT_SLICE_MS) === 'timed-out') {
        waited += WAIT_SLICE_MS;
        if (waited >= STALL_LIMIT_MS) throw this.#failAll('digest worker stalled');
      }
    }
  }

  #onMessage(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    if ('failure' in message) {
      this.#failAll(`digest worker failed: ${String(message.failure)}`);
      return;
    }
    if (!('job' in message) || !('digest' in message) || typeof message.job !== 'number' || !(message.digest instanceof Uint8Array)) return;
    const pending = this.#pending.get(message.job);
    this.#pending.delete(message.job);
    pending?.resolve(Buffer.from(message.digest.buffer, message.digest.byteOffset, message.digest.byteLength));
  }

  #failAll(reason: string): RpmVerifyError {
    const error = (this.#failure ??= new RpmVerifyError('RPM_STATE', reason));
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    return error;
  }
}
