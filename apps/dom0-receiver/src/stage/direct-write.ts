import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * O_DIRECT writes of staged files: bytes go from aligned memory to the disk without the page
 * cache. Here a buffered write of 1 GiB and its writeback cost about 1.2 s of CPU, a direct write
 * about 0.15 s, and dom0's page cache is not filled with a batch it will not read again soon.
 * The kernel wants memory, file offset and length aligned to the device's block size: offsets and
 * lengths are multiples of BLOCK. The memory is a WebAssembly memory, which V8 maps in whole pages,
 * so it starts on a page: the kernel also takes memory aligned only to the logical block (512
 * bytes), but on a virtio disk here 256 MiB written from such memory took 2.0-4.5 s against 0.2 s
 * from page-aligned memory. A probe write at start checks that the file system takes direct
 * writes; where the runtime has no WebAssembly it also finds the memory offset (JavaScript cannot
 * ask for aligned memory otherwise), which is then the kernel's minimum alignment, not a page.
 * Writes run in the thread pool while the stage hashes the next bytes: full chunks queue behind
 * each other, one write in flight per file, so the disk never waits for the stage to finish a
 * chunk and the stage waits only when all memory is lent out.
 */
const BLOCK = 4096;
const WASM_PAGE = 64 * 1024;
const CHUNK = 1024 * 1024;
/** malloc'd memory is 16-byte aligned, so these offsets cover every residue of the block */
const PROBE_STEP = 16;
/** shared by the file being received and the one finishing: one chunk filling, the rest queued or in flight */
const POOL_CHUNKS = 4;

/** Scratch file for the probe, in the working directory; no member name starts with a dot. */
const PROBE_FILE = '.direct-write-probe';

/**
 * Aligned memory for direct writes of files in the working directory (the staging directory), or
 * undefined where its file system refuses O_DIRECT (ramfs, or tmpfs before Linux 6.6). The probe
 * file is created first and then reopened with O_DIRECT: an open with O_CREAT and O_DIRECT on
 * such a file system creates the file before it fails, and a file left behind would fail the
 * batch. `open` is for tests.
 */
export function probeDirectWrites(open: (path: string, flags: number, mode?: number) => number = openSync): DirectWriteMemory | undefined {
  try {
    closeSync(open(PROBE_FILE, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
  } catch {
    return undefined;
  }
  try {
    let fd: number;
    try {
      fd = open(PROBE_FILE, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_DIRECT);
    } catch {
      return undefined;
    }
    try {
      return DirectWriteMemory.probe(fd);
    } finally {
      closeSync(fd);
    }
  } finally {
    try {
      unlinkSync(PROBE_FILE);
    } catch {
      // cannot happen where the stage may write; a probe file left behind fails the staged-files check, by name
    }
  }
}

/** A few aligned 1 MiB chunks, lent to one writer at a time; a writer waits while none is free. */
export class DirectWriteMemory {
  readonly #free: Uint8Array[];
  readonly #waiting: ((chunk: Uint8Array) => void)[] = [];
  /** the chunks start on a page (WebAssembly memory), not only where the kernel's minimum alignment allows */
  readonly pageAligned: boolean;

  private constructor(chunks: Uint8Array[], pageAligned: boolean) {
    this.#free = chunks;
    this.pageAligned = pageAligned;
  }

  /**
   * Finds where a new slab of memory is aligned for O_DIRECT by writing one block from it to
   * `probeFd` (a scratch file opened with O_DIRECT on the staging file system) at each candidate
   * offset until the kernel takes one. Undefined when none is taken.
   */
  static probe(probeFd: number): DirectWriteMemory | undefined {
    const size = POOL_CHUNKS * CHUNK + BLOCK;
    const paged = pageAlignedBytes(size);
    const slab = paged ?? new Uint8Array(size);
    for (let offset = 0; offset < BLOCK; offset += PROBE_STEP) {
      try {
        if (writeSync(probeFd, slab, offset, BLOCK, 0) !== BLOCK) return undefined;
      } catch (error) {
        // EINVAL is the kernel's answer to misaligned memory; anything else ends the probe
        if ((error as { code?: unknown }).code === 'EINVAL') continue;
        return undefined;
      }
      const chunks = Array.from({ length: POOL_CHUNKS }, (_, i) => slab.subarray(offset + i * CHUNK, offset + (i + 1) * CHUNK));
      return new DirectWriteMemory(chunks, paged !== undefined && offset === 0);
    }
    return undefined;
  }

  /** Chunks not lent out. */
  get free(): number {
    return this.#free.length;
  }

  take(): Uint8Array | Promise<Uint8Array> {
    return this.#free.pop() ?? new Promise((resolve) => this.#waiting.push(resolve));
  }

  give(chunk: Uint8Array): void {
    const waiter = this.#waiting.shift();
    if (waiter === undefined) this.#free.push(chunk);
    else waiter(chunk);
  }
}

type WasmMemoryConstructor = new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };

/**
 * `size` bytes starting on a page: V8 maps a WebAssembly memory in whole pages. The maximum is the
 * initial size, so the memory never grows (growing would detach the buffer under a write in
 * flight). Undefined where the runtime has no WebAssembly (`--jitless`) or refuses the mapping.
 */
function pageAlignedBytes(size: number): Uint8Array | undefined {
  // the ES library types have no WebAssembly: only the one constructor used here is declared
  const Memory = (globalThis as { WebAssembly?: { Memory?: WasmMemoryConstructor } }).WebAssembly?.Memory;
  if (Memory === undefined) return undefined;
  try {
    const pages = Math.ceil(size / WASM_PAGE);
    return new Uint8Array(new Memory({ initial: pages, maximum: pages }).buffer, 0, size);
  } catch {
    return undefined;
  }
}

/** Writes one file opened with O_DIRECT: whole chunks at explicit offsets, the padded last block, then the length. */
export class DirectWriter {
  readonly #handle: FileHandle;
  readonly #memory: DirectWriteMemory;
  #chunk: Uint8Array | undefined;
  #fill = 0;
  #position = 0;
  /** the last write queued: each starts when the one before has ended, so one is in flight */
  #queue: Promise<void> = Promise.resolve();
  #failure: Error | undefined;
  #busy = false;
  #ended = false;
  #abandoned = false;

  constructor(handle: FileHandle, memory: DirectWriteMemory) {
    this.#handle = handle;
    this.#memory = memory;
  }

  /** Copies the bytes into the chunk being filled (the caller may reuse its memory at once); waits only for memory. */
  async write(data: Uint8Array): Promise<void> {
    if (this.#busy || this.#ended) throw new Error('a direct write is already under way or the file was ended');
    this.#busy = true;
    try {
      for (let at = 0; at < data.length; ) {
        this.#throwIfFailed();
        if (this.#chunk === undefined) {
          const chunk = await this.#memory.take();
          // abandoned while this write waited for memory: the chunk goes straight back
          if (this.#abandoned) {
            this.#memory.give(chunk);
            throw new Error('the file was given up while a write waited for memory');
          }
          this.#chunk = chunk;
        }
        const take = Math.min(data.length - at, CHUNK - this.#fill);
        this.#chunk.set(data.subarray(at, at + take), this.#fill);
        this.#fill += take;
        at += take;
        if (this.#fill === CHUNK) this.#send(CHUNK);
      }
    } finally {
      this.#busy = false;
    }
    this.#throwIfFailed();
  }

  /** Writes the last block, padded, cuts the file back to the bytes written and returns their number. */
  async end(): Promise<number> {
    if (this.#busy) throw new Error('end() while a direct write is under way');
    if (!this.#ended) {
      this.#ended = true;
      if (this.#fill > 0 && this.#failure === undefined) this.#send(Math.ceil(this.#fill / BLOCK) * BLOCK);
      // after a failed write the chunk being filled is not written: it goes back
      this.#giveBack();
      await this.#queue;
      if (this.#failure === undefined && this.#position % BLOCK !== 0) {
        await this.#handle.truncate(this.#position).catch((error: unknown) => this.#keep(error));
      }
    }
    await this.#queue;
    this.#throwIfFailed();
    return this.#position;
  }

  /** Gives the memory back whatever happened; after this the writer takes no more bytes. */
  async abandon(): Promise<void> {
    this.#ended = true;
    this.#abandoned = true;
    // writes queued before are skipped (their memory given back); a write() that was waiting for
    // memory gives it back itself and queues none
    await this.#queue;
    this.#giveBack();
  }

  #giveBack(): void {
    if (this.#chunk !== undefined) this.#memory.give(this.#chunk);
    this.#chunk = undefined;
    this.#fill = 0;
  }

  /**
   * Queues the chunk being filled (`length` bytes of it, zero-padded past the data) behind the
   * writes already queued; the caller fills the next chunk meanwhile. Memory is the limit: a
   * writer that finds no free chunk waits in write().
   */
  #send(length: number): void {
    const chunk = this.#chunk;
    if (chunk === undefined) return;
    const data = this.#fill;
    const position = this.#position;
    this.#chunk = undefined;
    this.#fill = 0;
    this.#position += data;
    if (this.#failure !== undefined || this.#abandoned) {
      this.#memory.give(chunk);
      return;
    }
    chunk.fill(0, data, length);
    this.#queue = this.#queue.then(async () => {
      try {
        // a failed write or a file given up: the writes queued after it are not made
        if (this.#failure === undefined && !this.#abandoned) await writeAllAt(this.#handle, chunk, length, position);
      } catch (error) {
        this.#keep(error);
      } finally {
        this.#memory.give(chunk);
      }
    });
  }

  #keep(error: unknown): void {
    this.#failure ??= error instanceof Error ? error : new Error(String(error));
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}

async function writeAllAt(handle: FileHandle, chunk: Uint8Array, length: number, position: number): Promise<void> {
  for (let at = 0; at < length; ) {
    const { bytesWritten } = await handle.write(chunk, at, length - at, position + at);
    if (bytesWritten <= 0) throw Object.assign(new Error('the file system accepted no bytes'), { code: 'EIO' });
    at += bytesWritten;
  }
}
