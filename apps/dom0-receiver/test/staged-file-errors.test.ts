import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { DigestWorker } from '@dom0-updates/rpm-verify';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';

/** A fake file handle: writev takes at most `maxPerCall` bytes, or fails once `failAfter` bytes were taken. */
const fake = { taken: [] as Buffer[], bytes: 0, maxPerCall: Infinity, failAfter: Infinity, closed: false, synced: false };
/** the descriptor a digest worker lane writes to: /dev/full fails every write with ENOSPC, as a full disk does */
const full = openSync('/dev/full', 'w');
afterAll(() => closeSync(full));

vi.mock('node:fs/promises', () => ({
  open: () =>
    Promise.resolve({
      fd: full,
      writev: (chunks: Uint8Array[]) => {
        const asked = chunks.reduce((n, c) => n + c.length, 0);
        if (fake.bytes >= fake.failAfter) return Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
        const bytesWritten = Math.min(asked, fake.maxPerCall);
        fake.bytes += bytesWritten;
        // record the actual bytes so the test can check order and completeness
        let left = bytesWritten;
        for (const c of chunks) {
          if (left === 0) break;
          const n = Math.min(left, c.length);
          fake.taken.push(Buffer.from(c.subarray(0, n)));
          left -= n;
        }
        // a write taking nothing answers on a later turn, as the thread pool does: a writer that
        // asks again forever then spins on timers instead of starving vitest's own timeout
        if (bytesWritten === 0) return new Promise((resolve) => setImmediate(() => resolve({ bytesWritten, buffers: chunks })));
        return Promise.resolve({ bytesWritten, buffers: chunks });
      },
      datasync: () => {
        fake.synced = true;
        return Promise.resolve();
      },
      close: () => {
        fake.closed = true;
        return Promise.resolve();
      },
    }),
}));

const { StagedFile } = await import('../src/stage/staged-file.ts');

describe('StagedFile against a file system that misbehaves', () => {
  beforeEach(() => {
    fake.taken = [];
    fake.bytes = 0;
    fake.maxPerCall = Infinity;
    fake.failAfter = Infinity;
    fake.closed = false;
    fake.synced = false;
  });

  it('finishes short writes: every byte is written even when the kernel takes a few at a time', async () => {
    fake.maxPerCall = 1000;
    const file = await StagedFile.create('x.rpm');
    const chunks = Array.from({ length: 40 }, () => new Uint8Array(randomBytes(65536)));
    for (const chunk of chunks) await file.write(chunk);
    await file.commit();
    expect(Buffer.concat(fake.taken).equals(Buffer.concat(chunks))).toBe(true);
    expect(fake.synced).toBe(true);
    expect(fake.closed).toBe(true);
  });

  it('fails when the file system takes no byte of a write, instead of asking again forever, and syncs nothing', async () => {
    fake.maxPerCall = 0;
    const file = await StagedFile.create('w.rpm');
    const attempt = async (): Promise<void> => {
      await file.write(new Uint8Array(10));
      await file.commit();
    };
    await expect(attempt()).rejects.toThrow('the file system accepted no bytes');
    expect(fake.synced).toBe(false);
    await file.close();
    expect(fake.closed).toBe(true);
  });

  it('reports a failed write on a later write or commit, and syncs nothing', async () => {
    fake.failAfter = 100_000;
    const file = await StagedFile.create('y.rpm');
    const attempt = async (): Promise<void> => {
      for (let i = 0; i < 100; i++) await file.write(new Uint8Array(65536));
      await file.commit();
    };
    await expect(attempt()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(fake.synced).toBe(false);
    await file.close();
    expect(fake.closed).toBe(true);
  });

  it('reports a full disk met by its digest worker lane on commit, with the errno, and syncs nothing', async () => {
    const worker = DigestWorker.start(2);
    try {
      const file = await StagedFile.create('z.rpm', { worker, lane: 1 });
      for (let i = 0; i < 4; i++) worker.update([file.laneJob!], new Uint8Array(65536));
      // the lane's early report stops the feeding at the next chunk, before the member ends
      let early: unknown;
      for (let turn = 0; turn < 1000 && early === undefined; turn += 1) {
        early = await file.laneProgress().then(
          () => undefined,
          (error: unknown) => error,
        );
        if (early === undefined) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      expect(early).toMatchObject({ code: 'ENOSPC' });
      file.endInput();
      await expect(file.commit()).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(fake.synced).toBe(false);
      await file.close();
      expect(fake.closed).toBe(true);
    } finally {
      await worker.stop();
    }
  });
});
