import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { DigestWorker } from '@dom0-updates/rpm-verify';
import { DirectWriteMemory, DirectWriter } from './direct-write.ts';

/** Bytes queued behind the write in flight before write() makes the caller wait. */
const QUEUED_BYTES_LIMIT = 1024 * 1024;
/** Chunks queued likewise: a sender dribbling tiny chunks must not pile up objects or iovecs. */
const QUEUED_CHUNKS_LIMIT = 64;

/** A digest worker lane that writes the file from the ring the verifier's digests read. */
export interface LaneWriter {
  readonly worker: DigestWorker;
  readonly lane: number;
}

/**
 * One member's file in the staging directory (the stage's working directory). Created
 * exclusively without following links, mode 0644: the sender's modes, owners and times never
 * reach the disk.
 *
 * Written one of three ways:
 * - by a digest worker lane (`laneJob`): the caller hands the job to the verifier, which feeds
 *   it every byte along with the digests, from one copy in the worker's ring. The lane writes
 *   after write() calls return, so the descriptor is closed only once the lane has reported.
 * - with O_DIRECT (`DirectWriteMemory`): write() copies the chunk into aligned memory, and whole
 *   blocks go out from the thread pool while the caller hashes the next chunks (direct-write.ts).
 * - otherwise by write(): chunks are queued behind the write in flight and go out together as
 *   one writev in the thread pool while the caller hashes the next chunks. The queue is bounded
 *   (bytes and chunks); past the bound write() waits for the write in flight: that is the
 *   backpressure that keeps memory flat whatever the member size. Chunks are kept by reference
 *   until written, so the caller must not reuse their memory.
 */
export class StagedFile {
  readonly #handle: FileHandle;
  readonly #lane: { readonly worker: DigestWorker; readonly job: number } | undefined;
  readonly #direct: DirectWriter | undefined;
  /** the lane's report or the direct writer's end, once endInput() has been called */
  #inputDone: Promise<void> | undefined;
  #queued: Uint8Array[] = [];
  #queuedBytes = 0;
  #inFlight: Promise<void> | undefined;
  #failure: Error | undefined;
  #closed = false;

  private constructor(handle: FileHandle, writer: LaneWriter | DirectWriteMemory | undefined) {
    this.#handle = handle;
    this.#direct = writer instanceof DirectWriteMemory ? new DirectWriter(handle, writer) : undefined;
    this.#lane =
      writer === undefined || writer instanceof DirectWriteMemory ? undefined : { worker: writer.worker, job: writer.worker.beginWrite(handle.fd, writer.lane) };
  }

  static async create(name: string, writer?: LaneWriter | DirectWriteMemory): Promise<StagedFile> {
    const direct = writer instanceof DirectWriteMemory ? constants.O_DIRECT : 0;
    // the permission model forbids fchmod here; the receiver sets the final mode when publishing
    const handle = await open(name, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | direct, 0o644);
    try {
      return new StagedFile(handle, writer);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The worker's write job for this file, to hand to the verifier; undefined when write() is the way in. */
  get laneJob(): number | undefined {
    return this.#lane?.job;
  }

  /**
   * Rejects (errno kept) once the lane has reported a failed write of this file, so the caller
   * stops feeding it at the next chunk instead of at the commit; resolves otherwise.
   */
  laneProgress(): Promise<void> {
    const failed = this.#lane === undefined ? undefined : this.#lane.worker.writeFailure(this.#lane.job);
    return failed === undefined ? Promise.resolve() : Promise.reject(failed);
  }

  /**
   * No more bytes: asks the lane to report once it has written everything fed before, or starts
   * the direct writer's last block and gives its memory back (called once the body has been read,
   * so this is under way while the verifier finishes). With `expectedBytes`, a file that got any
   * other number of bytes fails (EIO).
   */
  endInput(expectedBytes?: number): void {
    if (this.#inputDone !== undefined) return;
    const keep = (error: unknown): void => {
      this.#failure ??= error instanceof Error ? error : new Error(String(error));
    };
    const check = (bytes: number, writer: string): void => {
      if (expectedBytes !== undefined && bytes !== expectedBytes) {
        keep(Object.assign(new Error(`${writer} wrote ${bytes} bytes, not ${expectedBytes}`), { code: 'EIO' }));
      }
    };
    const lane = this.#lane;
    if (lane !== undefined) {
      // a worker that is stopped or failed rejects only once its lanes have ended, so the descriptor
      // is never closed under a lane that still writes to it
      this.#inputDone = lane.worker.written(lane.job).then((bytes) => check(bytes, 'the digest worker lane'), keep);
    } else if (this.#direct !== undefined) {
      this.#inputDone = this.#direct.end().then((bytes) => check(bytes, 'the direct writer'), keep);
    }
  }

  /** Queues the chunk; resolves at once unless the queue is full, then when the write in flight ends. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#lane !== undefined) throw new Error('this file is written by its digest worker lane');
    this.#throwIfFailed();
    if (chunk.length === 0) return;
    if (this.#direct !== undefined) {
      await this.#direct.write(chunk);
      return;
    }
    this.#queued.push(chunk);
    this.#queuedBytes += chunk.length;
    this.#inFlight ??= this.#writeQueued();
    if (this.#queuedBytes >= QUEUED_BYTES_LIMIT || this.#queued.length >= QUEUED_CHUNKS_LIMIT) await this.#inFlight;
    this.#throwIfFailed();
  }

  /** Waits until every queued (or fed) byte reached the kernel. */
  async flush(): Promise<void> {
    await this.#settleInput();
    while (this.#inFlight !== undefined) await this.#inFlight;
    this.#throwIfFailed();
  }

  /**
   * Settles the lane's write job or the direct writer's last block (a failure is kept): after
   * this nothing but this object's own queue touches the descriptor.
   */
  async #settleInput(): Promise<void> {
    this.endInput();
    // never rejects: endInput() keeps the failure
    await this.#inputDone;
  }

  /**
   * Everything written, then fdatasync and close: the parent publishes these files and relies on
   * them being on disk.
   */
  async commit(): Promise<void> {
    await this.flush();
    await this.#handle.datasync();
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // a file given up midway writes no last block; its memory goes back either way
    if (this.#direct !== undefined && this.#inputDone === undefined) await this.#direct.abandon();
    // a write still in flight, here, in the lane or in the thread pool, must end before its descriptor is closed
    await this.#settleInput();
    while (this.#inFlight !== undefined) await this.#inFlight;
    await this.#handle.close();
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Drains the queue, one writev per batch; settles (never rejects) once the queue is empty or a write failed. */
  async #writeQueued(): Promise<void> {
    try {
      while (this.#queued.length > 0 && this.#failure === undefined) {
        const batch = this.#queued;
        this.#queued = [];
        this.#queuedBytes = 0;
        await writeAll(this.#handle, batch);
      }
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      this.#queued = [];
      this.#queuedBytes = 0;
    } finally {
      this.#inFlight = undefined;
    }
  }
}

/** writev until every byte of `chunks` is written (a regular file may take fewer bytes than asked). */
async function writeAll(handle: FileHandle, chunks: Uint8Array[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    if (bytesWritten === 0) throw new Error('the file system accepted no bytes');
    let i = 0;
    for (; i < rest.length; i++) {
      const chunk = rest[i];
      if (chunk === undefined || bytesWritten < chunk.length) break;
      bytesWritten -= chunk.length;
    }
    const partial = rest[i];
    rest = partial === undefined ? [] : [partial.subarray(bytesWritten), ...rest.slice(i + 1)];
  }
}
