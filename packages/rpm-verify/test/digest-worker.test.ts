import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestWorker, LaneWriteError } from '../src/digest/digest-worker.ts';
import { CONTROL_FAILED, CONTROL_READ, CONTROL_SLOTS, CONTROL_WRITTEN, MAX_RECORD_DATA, OP_BEGIN, RING_BYTES, WORD_POSITION } from '../src/digest/ring.ts';
import { digestWorkerMain, type LaneMessage } from '../src/digest/worker-main.ts';
import { createRpmVerifier, type OffloadedDigest, type VerifiedPackage } from '../src/verifier.ts';
import { fixtures, type Loaded } from './support/fixtures.ts';
import { rebuild, splitPackage } from './support/package-bytes.ts';
import { codeOf, NOW, verifyBytes } from './support/verify-bytes.ts';

let fx: Loaded;
let worker: DigestWorker;
/** the stage's layout: the MD5 on lane 0, both SHA-256 and the file write on lane 1 */
let twoLanes: DigestWorker;
let scratch: string;
beforeAll(async () => {
  fx = await fixtures();
  worker = DigestWorker.start();
  twoLanes = DigestWorker.start(2);
  scratch = await mkdtemp(join(tmpdir(), 'digest-worker-'));
}, 300_000);
afterAll(async () => {
  await worker.stop();
  await twoLanes.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** Data long enough to wrap the ring twice, with a pattern a misplaced byte would break. */
function patterned(length: number): Buffer {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) data[i] = (i * 7919) >>> 3;
  return data;
}

/** Feeds `data` to `jobs` in pieces of the given sizes, cycling through them. */
function feed(on: DigestWorker, jobs: readonly number[], data: Uint8Array, sizes: readonly number[]): void {
  for (let off = 0, i = 0; off < data.length; i += 1) {
    const part = data.subarray(off, Math.min(data.length, off + (sizes[i % sizes.length] ?? 1)));
    on.update(jobs, part);
    off += part.length;
  }
}

const ALL: readonly OffloadedDigest[] = ['file-sha256', 'payload-sha256', 'legacy-md5'];

async function verifyOffloaded(bytes: Uint8Array, digests: readonly OffloadedDigest[], chunk = 65_536): Promise<VerifiedPackage> {
  const v = createRpmVerifier(fx.trusted, { now: NOW, offload: { worker, digests } }, 'test.rpm');
  for (let off = 0; off < bytes.length; off += chunk) v.write(bytes.subarray(off, off + chunk));
  return v.finish();
}


describe('digest worker', () => {
  it('computes the same MD5 and SHA-256 as node:crypto for any split of the input, across the ring wrap', async () => {
    // inputs up to 2.5 ring sizes, so records wrap around the end of the ring several times
    const data = Buffer.alloc(RING_BYTES * 2 + RING_BYTES / 2 + 13);
    for (let i = 0; i < data.length; i += 1) data[i] = (i * 7919) >>> 3;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: RING_BYTES }), { minLength: 1, maxLength: 12 }), async (sizes) => {
        const md5 = worker.begin('md5');
        const sha = worker.begin('sha256');
        let off = 0;
        for (let i = 0; off < data.length; i += 1) {
          const n = sizes[i % sizes.length] ?? 1;
          // the first 100 bytes go to the SHA-256 only, like the file digest before the header
          const part = data.subarray(off, Math.min(data.length, off + n));
          if (off < 100) {
            const head = part.subarray(0, 100 - off);
            worker.update([sha], head);
            worker.update([sha, md5], part.subarray(head.length));
          } else {
            worker.update([sha, md5], part);
          }
          off += part.length;
        }
        const [gotMd5, gotSha] = await Promise.all([worker.digest(md5), worker.digest(sha)]);
        expect(gotMd5.toString('hex')).toBe(createHash('md5').update(data.subarray(100)).digest('hex'));
        expect(gotSha.toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      }),
      { numRuns: 12 },
    );
  });

  it('keeps later digests right after a dropped one', async () => {
    const dropped = worker.begin('sha256');
    worker.update([dropped], Buffer.from('abandoned'));
    worker.drop(dropped);
    const job = worker.begin('sha512');
    worker.update([job], Buffer.from('kept'));
    expect((await worker.digest(job)).toString('hex')).toBe(createHash('sha512').update('kept').digest('hex'));
  });

  it('refuses work after stop, with RPM_STATE', async () => {
    const own = DigestWorker.start();
    const job = own.begin('md5');
    own.update([job], Buffer.from('x'));
    const digest = own.digest(job);
    await own.stop();
    // asked for before the stop: still delivered
    expect((await digest).toString('hex')).toBe(createHash('md5').update('x').digest('hex'));
    expect(() => own.begin('md5')).toThrow(expect.objectContaining({ code: 'RPM_STATE' }) as Error);
  });
});

describe('digest worker lanes and write jobs', () => {
  it('computes digests begun on two lanes from shared records, for any split, across the ring wrap', async () => {
    const data = patterned(RING_BYTES * 2 + 777);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: RING_BYTES }), { minLength: 1, maxLength: 8 }), async (sizes) => {
        const md5 = twoLanes.begin('md5', 0);
        const sha = twoLanes.begin('sha256', 1);
        const sha512 = twoLanes.begin('sha512', 1);
        feed(twoLanes, [md5, sha, sha512], data, sizes);
        const [gotMd5, gotSha, got512] = await Promise.all([twoLanes.digest(md5), twoLanes.digest(sha), twoLanes.digest(sha512)]);
        expect(gotMd5.toString('hex')).toBe(createHash('md5').update(data).digest('hex'));
        expect(gotSha.toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
        expect(got512.toString('hex')).toBe(createHash('sha512').update(data).digest('hex'));
      }),
      { numRuns: 8 },
    );
  });

  it('writes a write job\'s bytes to its descriptor in order, from the records its lane shares with digests', async () => {
    const data = patterned(RING_BYTES * 2 + MAX_RECORD_DATA + 5);
    for (const [lane, sizes] of [
      [1, [65_536]],
      [0, [1, 4096, MAX_RECORD_DATA + 3, 17]],
    ] as const) {
      const path = join(scratch, `out-${lane}.bin`);
      const fd = openSync(path, 'wx');
      try {
        const write = twoLanes.beginWrite(fd, lane);
        const md5 = twoLanes.begin('md5', 0);
        // the first bytes go to the write only, like the lead and headers before the MD5 starts
        twoLanes.update([write], data.subarray(0, 100));
        feed(twoLanes, [write, md5], data.subarray(100), sizes);
        expect(await twoLanes.written(write)).toBe(data.length);
        expect((await twoLanes.digest(md5)).toString('hex')).toBe(createHash('md5').update(data.subarray(100)).digest('hex'));
      } finally {
        closeSync(fd);
      }
      expect((await readFile(path)).equals(data)).toBe(true);
    }
  });

  it('reports a failed write with its errno when the job ends, and keeps the digests of the same records right', async () => {
    // /dev/full takes no byte: every write fails with ENOSPC, as on a full disk
    const fd = openSync('/dev/full', 'w');
    try {
      const write = twoLanes.beginWrite(fd, 1);
      const sha = twoLanes.begin('sha256', 1);
      const data = patterned(300_000);
      feed(twoLanes, [write, sha], data, [65_536]);
      const failed = twoLanes.written(write);
      await expect(failed).rejects.toBeInstanceOf(LaneWriteError);
      await expect(failed).rejects.toMatchObject({ code: 'ENOSPC' });
      expect((await twoLanes.digest(sha)).toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    } finally {
      closeSync(fd);
    }
    // the worker is still usable
    const job = twoLanes.begin('md5', 0);
    twoLanes.update([job], Buffer.from('after'));
    expect((await twoLanes.digest(job)).toString('hex')).toBe(createHash('md5').update('after').digest('hex'));
  });

  it('reports a failed write through writeFailure() before the job ends, so the caller can stop feeding it', async () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const write = twoLanes.beginWrite(fd, 1);
      twoLanes.update([write], Buffer.alloc(1000));
      for (let turn = 0; turn < 1000 && twoLanes.writeFailure(write) === undefined; turn += 1) await new Promise((resolve) => setTimeout(resolve, 1));
      expect(twoLanes.writeFailure(write)).toMatchObject({ code: 'ENOSPC' });
      await expect(twoLanes.written(write)).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(twoLanes.writeFailure(write)).toBeUndefined();
    } finally {
      closeSync(fd);
    }
  });

  it('answers a write job ended after stop() only once its lanes have written every byte queued before the stop', async () => {
    const own = DigestWorker.start(2);
    const path = join(scratch, 'stopped.bin');
    const fd = openSync(path, 'wx');
    try {
      const write = own.beginWrite(fd, 1);
      // many small records: the lane is still writing when stop() returns to this thread
      for (let i = 0; i < 16_000; i += 1) own.update([write], Buffer.of(i & 0xff));
      const stopped = own.stop();
      await expect(own.written(write)).rejects.toMatchObject({ code: 'RPM_STATE' });
      // the rejection came after the lanes ended: every byte is in the file before it can be closed
      expect((await readFile(path)).length).toBe(16_000);
      await stopped;
    } finally {
      closeSync(fd);
    }
  });

  it('fails the lane instead of reading data as a header when a record is not where the writer put it', () => {
    const control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
    const ring = new Uint8Array(new SharedArrayBuffer(4096));
    const words = new Int32Array(ring.buffer);
    // a well-formed BEGIN record, but stamped with another writer position than the lane's counter
    words.set([OP_BEGIN, 0, 0, 7, -1, -1, -1, 12345]);
    expect(WORD_POSITION).toBe(7);
    Atomics.store(control, CONTROL_WRITTEN, 32);
    const posted: LaneMessage[] = [];
    const created: string[] = [];
    digestWorkerMain({
      control,
      ring,
      lane: 0,
      algorithms: ['md5'],
      createHash: (algorithm) => {
        created.push(algorithm);
        return createHash(algorithm);
      },
      writeSync: () => {
        throw new Error('no write expected');
      },
      post: (message) => posted.push(message),
    });
    expect(created).toEqual([]);
    expect(Atomics.load(control, CONTROL_FAILED)).toBe(1);
    expect(Atomics.load(control, CONTROL_READ)).toBe(0);
    expect(posted).toEqual([{ failure: 'ring out of step at 0' }]);
  });

  it('keeps a process alive while it awaits a lane\'s answer or the lanes\' end, and lets it exit after', () => {
    // bundled with the repo's own bundler and run as a process with nothing else to wait for
    const root = join(import.meta.dirname, '..', '..', '..');
    const out = join(scratch, 'await-only-worker.mjs');
    execFileSync(process.execPath, [join(root, 'tooling', 'scripts', 'bundle.mjs'), join(import.meta.dirname, 'support', 'await-only-worker.ts'), out], { cwd: root });
    const printed = execFileSync(process.execPath, [out], { encoding: 'utf8', timeout: 60_000 });
    expect(printed).toBe('digest right\nstopped\n');
  });

  it('tells a digest from a write job when the wrong end is asked for', async () => {
    const job = twoLanes.begin('md5', 0);
    await expect(twoLanes.written(job)).rejects.toMatchObject({ code: 'RPM_STATE' });
  });

  it('refuses a lane count outside 1 to 4, a bad descriptor and a record for more than four jobs, with RPM_STATE', () => {
    for (const lanes of [0, 5, 1.5, Number.NaN]) expect(() => DigestWorker.start(lanes)).toThrow(expect.objectContaining({ code: 'RPM_STATE' }) as Error);
    for (const fd of [-1, 1.5, 2 ** 31]) expect(() => twoLanes.beginWrite(fd, 1)).toThrow(expect.objectContaining({ code: 'RPM_STATE' }) as Error);
    expect(() => twoLanes.update([1, 2, 3, 4, 5], Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'RPM_STATE' }) as Error);
  });
});

describe('verifier with digests offloaded to the worker', () => {
  it('returns exactly what the single-thread verifier returns, for header-only and v3-signed packages', async () => {
    const files = [...fx.set.packages.v2, ...fx.set.rpmv3].filter((p) => p.signer?.startsWith('trusted-') === true);
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const pkg of files) {
      const bytes = await readFile(pkg.path);
      const expected = await verifyBytes(bytes, fx.trusted);
      for (const digests of [ALL, ['legacy-md5'] as const, ['file-sha256'] as const, ['payload-sha256'] as const]) {
        for (const chunk of [1, 1000, 65_536, bytes.length]) {
          expect(await verifyOffloaded(bytes, digests, chunk)).toEqual(expected);
        }
      }
      expect(expected.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });

  it('returns the same on the stage\'s two-lane layout and writes the verified bytes through the write job', async () => {
    const files = [...fx.set.packages.v2, ...fx.set.rpmv3].filter((p) => p.signer?.startsWith('trusted-') === true);
    const lanes = { 'legacy-md5': 0, 'file-sha256': 1, 'payload-sha256': 1 } as const;
    for (const [index, pkg] of files.entries()) {
      const bytes = await readFile(pkg.path);
      const expected = await verifyBytes(bytes, fx.trusted);
      for (const chunk of [1000, 65_536]) {
        const path = join(scratch, `${index}-${chunk}.rpm`);
        const fd = openSync(path, 'wx');
        try {
          const writeJob = twoLanes.beginWrite(fd, 1);
          const v = createRpmVerifier(fx.trusted, { now: NOW, offload: { worker: twoLanes, digests: ALL, lanes, writeJob } }, 'test.rpm');
          for (let off = 0; off < bytes.length; off += chunk) v.write(bytes.subarray(off, off + chunk));
          expect(await v.finish()).toEqual(expected);
          expect(await twoLanes.written(writeJob)).toBe(bytes.length);
        } finally {
          closeSync(fd);
        }
        expect((await readFile(path)).equals(bytes)).toBe(true);
      }
    }
  });

  it('still rejects a bad MD5 (1004) when the MD5 runs on the worker', async () => {
    const rsa = splitPackage(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-rsa')!.path));
    const bad = rebuild(rsa, { sig: (es) => es.map((e) => (e.tag === 1004 ? { ...e, data: Buffer.from(e.data.map((b, i) => (i === 0 ? b ^ 1 : b))) } : e)) });
    expect(await codeOf(verifyOffloaded(bad, ALL))).toBe('RPM_DIGEST_MISMATCH');
    expect(await codeOf(verifyOffloaded(bad, ['legacy-md5']))).toBe('RPM_DIGEST_MISMATCH');
    // the worker is still usable after a rejection
    expect((await verifyOffloaded(rsa.bytes, ALL)).nevraString).toBe((await verifyBytes(rsa.bytes, fx.trusted)).nevraString);
  });

  it('still rejects a changed payload byte and a truncated file', async () => {
    const bytes = Buffer.from(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-ed25519')!.path));
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 5] = (flipped[bytes.length - 5] ?? 0) ^ 0x40;
    expect(await codeOf(verifyOffloaded(flipped, ALL))).toBe('RPM_PAYLOAD_MISMATCH');
    expect(await codeOf(verifyOffloaded(bytes.subarray(0, bytes.length - 1), ALL))).toBe('RPM_TRUNCATED');
  });
});
