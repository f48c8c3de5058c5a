import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, open, readdir, readFile, readlink, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DirectWriteMemory, DirectWriter, probeDirectWrites } from '../src/stage/direct-write.ts';
import { StagedFile } from '../src/stage/staged-file.ts';

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const MIB = 1024 * 1024;
const DIRECT = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_DIRECT;

let dir: string;
let memory: DirectWriteMemory;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'direct-write-'));
  const probe = openSync(join(dir, '.probe'), DIRECT, 0o600);
  try {
    const probed = DirectWriteMemory.probe(probe);
    expect(probed).toBeInstanceOf(DirectWriteMemory);
    memory = probed!;
  } finally {
    closeSync(probe);
  }
});

/** All four chunks are free: each take() answers at once, with a chunk rather than a promise of one. */
function expectAllChunksFree(): void {
  expect(memory.free).toBe(4);
  const held = Array.from({ length: 4 }, () => memory.take());
  for (const chunk of held) expect(chunk).toBeInstanceOf(Uint8Array);
  for (const chunk of held) if (chunk instanceof Uint8Array) memory.give(chunk);
}

/** Feeds `bytes` in pieces of `piece` bytes through a DirectWriter on a new O_DIRECT file. */
async function writeDirect(name: string, bytes: Uint8Array, piece: number, into = memory): Promise<{ path: string; size: number }> {
  const path = join(dir, name);
  const handle = await open(path, DIRECT, 0o644);
  try {
    const writer = new DirectWriter(handle, into);
    for (let off = 0; off < bytes.length; off += piece) await writer.write(bytes.subarray(off, off + piece));
    return { path, size: await writer.end() };
  } finally {
    await handle.close();
  }
}

describe('direct (O_DIRECT) writes of staged files', () => {
  it('hold exactly the bytes given, cut back from the padded last block, for lengths around the block and the chunk', async () => {
    for (const length of [0, 1, 4095, 4096, 4097, MIB - 1, MIB, MIB + 1, 5 * MIB + 12_345]) {
      const bytes = new Uint8Array(randomBytes(length));
      // pieces that never line up with the blocks or the chunks
      const { path, size } = await writeDirect(`len-${length}.rpm`, bytes, 70_001);
      expect(size).toBe(length);
      expect((await stat(path)).size).toBe(length);
      expect(sha(await readFile(path))).toBe(sha(bytes));
    }
  });

  it('takes pieces bigger than a chunk, and one byte at a time', async () => {
    const bytes = new Uint8Array(randomBytes(3 * MIB + 5));
    expect(sha(await readFile((await writeDirect('big-pieces.rpm', bytes, 2 * MIB + 3)).path))).toBe(sha(bytes));
    const small = new Uint8Array(randomBytes(9000));
    expect(sha(await readFile((await writeDirect('tiny-pieces.rpm', small, 1)).path))).toBe(sha(small));
  });

  it('lends its memory to one file at a time and gets all of it back, even from files abandoned midway', async () => {
    // more files at once than the memory has chunks for two each: the later ones wait, none fails
    const files = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const bytes = new Uint8Array(randomBytes(2 * MIB + i));
        return { bytes, ...(await writeDirect(`together-${i}.rpm`, bytes, 65_536)) };
      }),
    );
    for (const f of files) expect(sha(await readFile(f.path))).toBe(sha(f.bytes));
    // abandoned with a chunk half filled and one in flight
    const handle = await open(join(dir, 'abandoned.rpm'), DIRECT, 0o644);
    const writer = new DirectWriter(handle, memory);
    await writer.write(new Uint8Array(MIB + 10));
    await writer.abandon();
    await handle.close();
    expectAllChunksFree();
  });

  it('queues full chunks behind the write in flight instead of waiting for it, and writes them one at a time in order', async () => {
    const calls: { position: number; length: number; release: () => void }[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    // a disk that answers only when told to
    const handle = {
      write: (_chunk: Uint8Array, _offset: number, length: number, position: number) =>
        new Promise<{ bytesWritten: number }>((resolve) => {
          inFlight += 1;
          mostInFlight = Math.max(mostInFlight, inFlight);
          calls.push({ position, length, release: () => { inFlight -= 1; resolve({ bytesWritten: length }); } });
        }),
      truncate: () => Promise.resolve(),
    };
    const writer = new DirectWriter(handle as unknown as FileHandle, memory);
    // three full chunks: write() returns with the first still on the disk
    await writer.write(new Uint8Array(3 * MIB));
    expect(calls.map((c) => c.position)).toEqual([0]);
    const ended = writer.end();
    for (let i = 0; i < 3; i += 1) {
      await vi.waitFor(() => expect(calls.length).toBe(i + 1));
      calls[i]?.release();
    }
    expect(await ended).toBe(3 * MIB);
    expect(calls.map((c) => [c.position, c.length])).toEqual([[0, MIB], [MIB, MIB], [2 * MIB, MIB]]);
    expect(mostInFlight).toBe(1);
    expectAllChunksFree();
  });

  it('reports a failed write with its errno, whether in a full chunk or in the last block, and gives the memory back', async () => {
    const path = join(dir, 'read-only.rpm');
    await writeFile(path, '');
    for (const length of [MIB + 10, 10]) {
      // a descriptor open for reading only: every write fails with EBADF
      const handle = await open(path, constants.O_RDONLY | constants.O_DIRECT);
      try {
        const writer = new DirectWriter(handle, memory);
        const attempt = async (): Promise<number> => {
          await writer.write(new Uint8Array(length));
          // the full chunk's failure shows at the latest when the file ends
          return writer.end();
        };
        await expect(attempt()).rejects.toMatchObject({ code: 'EBADF' });
        // end() alone gave back the chunk that was being filled when the write failed
        expectAllChunksFree();
      } finally {
        await handle.close();
      }
    }
  });

  it('fails with EIO when the file system takes no byte of a write, instead of asking again forever', async () => {
    let calls = 0;
    const handle = {
      write: () => {
        calls += 1;
        // answered on a later turn, as the thread pool does, so a writer asking again forever cannot starve the test's timeout
        return new Promise<{ bytesWritten: number }>((resolve) => setImmediate(() => resolve({ bytesWritten: 0 })));
      },
      truncate: () => Promise.resolve(),
    };
    const writer = new DirectWriter(handle as unknown as FileHandle, memory);
    await writer.write(new Uint8Array(10));
    await expect(writer.end()).rejects.toMatchObject({ code: 'EIO', message: 'the file system accepted no bytes' });
    expect(calls).toBe(1);
    expectAllChunksFree();
  });

  it('makes none of the writes queued behind a failed one', async () => {
    const calls: { position: number; fail: () => void }[] = [];
    const handle = {
      write: (_chunk: Uint8Array, _offset: number, _length: number, position: number) =>
        new Promise<{ bytesWritten: number }>((_resolve, reject) => {
          const fail = (): void => reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
          calls.push({ position, fail });
          // the disk stays full: any write made after the first fails at once
          if (calls.length > 1) fail();
        }),
      truncate: () => Promise.resolve(),
    };
    const writer = new DirectWriter(handle as unknown as FileHandle, memory);
    // three full chunks: the first on the disk, two queued behind it
    await writer.write(new Uint8Array(3 * MIB));
    expect(calls.map((c) => c.position)).toEqual([0]);
    calls[0]?.fail();
    await expect(writer.end()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(calls.map((c) => c.position)).toEqual([0]);
    expectAllChunksFree();
  });

  it('gives back the chunk a write() waited for when the file was given up meanwhile', async () => {
    const handle = await open(join(dir, 'given-up-waiting.rpm'), DIRECT, 0o644);
    try {
      // every chunk lent out elsewhere: the write waits for one
      const lent = Array.from({ length: 4 }, () => memory.take()).filter((c): c is Uint8Array => c instanceof Uint8Array);
      expect(lent.length).toBe(4);
      const writer = new DirectWriter(handle, memory);
      const waiting = writer.write(new Uint8Array(10));
      const abandoned = writer.abandon();
      for (const chunk of lent) memory.give(chunk);
      await expect(waiting).rejects.toThrow(/given up while a write waited/);
      await abandoned;
      expectAllChunksFree();
    } finally {
      await handle.close();
    }
  });

  it('refuses a second write() while one is under way, and any write after end()', async () => {
    const handle = await open(join(dir, 'overlap.rpm'), DIRECT, 0o644);
    try {
      const writer = new DirectWriter(handle, memory);
      const first = writer.write(new Uint8Array(2 * MIB));
      await expect(writer.write(new Uint8Array(1))).rejects.toThrow(/under way/);
      await first;
      expect(await writer.end()).toBe(2 * MIB);
      await expect(writer.write(new Uint8Array(1))).rejects.toThrow(/ended/);
    } finally {
      await handle.close();
    }
  });

  it('lends chunks that start on a page, from a WebAssembly memory that cannot grow', () => {
    expect(memory.pageAligned).toBe(true);
    const held = Array.from({ length: 4 }, () => memory.take() as Uint8Array);
    try {
      for (const chunk of held) {
        expect(chunk.byteOffset % 4096).toBe(0);
        expect(chunk.length).toBe(MIB);
        // a WebAssembly memory's buffer is whole 64 KiB pages (a malloc'd slab is the asked size)
        expect(chunk.buffer.byteLength % (64 * 1024)).toBe(0);
      }
    } finally {
      for (const chunk of held) memory.give(chunk);
    }
  });

  it('falls back to probing plain memory for the kernel\'s alignment where the runtime has no WebAssembly', async () => {
    const path = join(dir, '.probe-no-wasm');
    const fd = openSync(path, DIRECT, 0o600);
    vi.stubGlobal('WebAssembly', undefined);
    try {
      const plain = DirectWriteMemory.probe(fd);
      expect(plain).toBeInstanceOf(DirectWriteMemory);
      expect(plain!.pageAligned).toBe(false);
      // still usable for direct writes: the bytes come back whole
      const bytes = randomBytes(MIB + 12345);
      const written = await writeDirect('no-wasm.rpm', bytes, 64 * 1024, plain);
      expect(written.size).toBe(bytes.length);
      expect(sha(await readFile(written.path))).toBe(sha(bytes));
    } finally {
      vi.unstubAllGlobals();
      closeSync(fd);
    }
  });

  it('finds no aligned memory when the probe descriptor takes no write', async () => {
    const path = join(dir, 'probe-read-only');
    await writeFile(path, '');
    const fd = openSync(path, 'r');
    try {
      expect(DirectWriteMemory.probe(fd)).toBeUndefined();
    } finally {
      closeSync(fd);
    }
  });

  it('leaves no probe file behind where the file system refuses O_DIRECT', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'direct-refused-'));
    const before = process.cwd();
    process.chdir(cwd);
    try {
      // as ramfs does: the open with O_DIRECT fails with EINVAL
      const refusing = (path: string, flags: number, mode?: number): number => {
        if ((flags & constants.O_DIRECT) !== 0) throw Object.assign(new Error('invalid argument'), { code: 'EINVAL' });
        return openSync(path, flags, mode);
      };
      expect(probeDirectWrites(refusing)).toBeUndefined();
    } finally {
      process.chdir(before);
    }
    expect(await readdir(cwd)).toEqual([]);
  });

  it('probes in the working directory and leaves no probe file there', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'direct-probe-'));
    const before = process.cwd();
    process.chdir(cwd);
    try {
      expect(probeDirectWrites()).toBeInstanceOf(DirectWriteMemory);
    } finally {
      process.chdir(before);
    }
    expect(await readdir(cwd)).toEqual([]);
  });

  it('backs StagedFile: the file is opened with O_DIRECT, committed whole, and its memory returned', async () => {
    const path = join(dir, 'staged.rpm');
    const file = await StagedFile.create(path, memory);
    expect(file.laneJob).toBeUndefined();
    // the descriptor open on the file carries O_DIRECT in its flags (octal in /proc/self/fdinfo)
    const flagsOf = async (fd: string): Promise<number | undefined> => {
      if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) !== path) return undefined;
      const octal = /^flags:\s*([0-7]+)$/m.exec(await readFile(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      return octal === undefined ? undefined : Number.parseInt(octal, 8);
    };
    const flags = (await Promise.all((await readdir('/proc/self/fd')).map(flagsOf))).filter((f) => f !== undefined);
    expect(flags.length).toBe(1);
    expect(flags[0]! & constants.O_DIRECT).toBe(constants.O_DIRECT);
    const bytes = new Uint8Array(randomBytes(MIB + 4097));
    for (let off = 0; off < bytes.length; off += 65_536) await file.write(bytes.subarray(off, off + 65_536));
    await file.commit();
    expect(sha(await readFile(path))).toBe(sha(bytes));
  });

  it('gives a staged file\'s memory back when its input ends, before its commit', async () => {
    const files = await Promise.all([0, 1, 2].map((i) => StagedFile.create(join(dir, `ended-${i}.rpm`), memory)));
    for (const file of files) {
      await file.write(new Uint8Array(MIB + MIB / 2));
      file.endInput(MIB + MIB / 2);
    }
    // three files, none committed: their last blocks go out and every chunk comes back
    await vi.waitFor(() => expect(memory.free).toBe(4));
    for (const file of files) await file.commit();
    for (let i = 0; i < 3; i += 1) expect((await stat(join(dir, `ended-${i}.rpm`))).size).toBe(MIB + MIB / 2);
  });

  it('fails the commit with EIO when the file got another number of bytes than the member has', async () => {
    const file = await StagedFile.create(join(dir, 'short-direct.rpm'), memory);
    await file.write(new Uint8Array(999));
    file.endInput(1000);
    await expect(file.commit()).rejects.toMatchObject({ code: 'EIO', message: expect.stringContaining('999 bytes, not 1000') as string });
    await file.close();
    expectAllChunksFree();
  });

  it('writes no last block for a file closed without its input ending, and frees its memory', async () => {
    const path = join(dir, 'given-up.rpm');
    const file = await StagedFile.create(path, memory);
    await file.write(new Uint8Array(MIB + 7).fill(1));
    await file.close();
    // the full first chunk went out; the 7 bytes after it never did
    expect((await stat(path)).size).toBe(MIB);
    expectAllChunksFree();
  });
});
