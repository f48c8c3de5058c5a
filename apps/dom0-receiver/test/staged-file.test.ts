import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigestWorker } from '@dom0-updates/rpm-verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StagedFile } from '../src/stage/staged-file.ts';

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('StagedFile (write-behind staging file)', () => {
  it('writes every chunk in order, whatever their sizes, including empty ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'staged-'));
    const path = join(dir, 'a.rpm');
    const file = await StagedFile.create(path);
    const chunks: Uint8Array[] = [];
    // sizes crossing the queue bounds: many tiny chunks, empty ones, and chunks over 1 MiB
    for (const size of [0, 1, 7, 65536, 0, 3, 1_500_000, ...Array.from({ length: 200 }, (_, i) => i % 5), 300_000]) {
      const chunk = new Uint8Array(randomBytes(size));
      chunks.push(chunk);
      await file.write(chunk);
    }
    await file.commit();
    const expected = Buffer.concat(chunks);
    const written = await readFile(path);
    expect(written.length).toBe(expected.length);
    expect(sha(written)).toBe(sha(expected));
  });

  it('does not wait for the disk while the queue has room', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'staged-'));
    const file = await StagedFile.create(join(dir, 'b.rpm'));
    let settled = false;
    const pending = file.write(new Uint8Array(1000)).then(() => (settled = true));
    // one microtask turn: a queued write resolves without a thread-pool round trip
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(true);
    await pending;
    await file.commit();
    expect((await readFile(join(dir, 'b.rpm'))).length).toBe(1000);
  });

  it('refuses a name that already exists', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'staged-'));
    await writeFile(join(dir, 'c.rpm'), 'x');
    await expect(StagedFile.create(join(dir, 'c.rpm'))).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('refuses a symlink planted under the name and leaves its target alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'staged-'));
    await writeFile(join(dir, 'target'), 'keep');
    await symlink(join(dir, 'target'), join(dir, 'd.rpm'));
    await expect(StagedFile.create(join(dir, 'd.rpm'))).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(join(dir, 'target'), 'utf8')).toBe('keep');
  });
});

describe('StagedFile written by a digest worker lane', () => {
  let worker: DigestWorker;
  beforeAll(() => {
    worker = DigestWorker.start(2);
  });
  afterAll(async () => {
    await worker.stop();
  });

  it('gets every byte fed to its lane job, in order, and commits only after the lane has written them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'staged-'));
    const path = join(dir, 'lane.rpm');
    const file = await StagedFile.create(path, { worker, lane: 1 });
    const job = file.laneJob;
    expect(job).toBeTypeOf('number');
    const chunks = [0, 5, 65536, 1_500_000, 3].map((size) => new Uint8Array(randomBytes(size)));
    for (const chunk of chunks) worker.update([job!], chunk);
    // no endInput(): commit() asks the lane itself and waits for it before fdatasync and close
    await file.commit();
    expect(sha(await readFile(path))).toBe(sha(Buffer.concat(chunks)));
  });

  it('refuses write() when its lane writes it, so no byte can take a second path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'staged-'));
    const file = await StagedFile.create(join(dir, 'both.rpm'), { worker, lane: 1 });
    await expect(file.write(new Uint8Array(1))).rejects.toThrow(/digest worker lane/);
    await file.close();
  });

  it('fails its commit with EIO when the lane wrote another number of bytes than the member has', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'staged-'));
    const file = await StagedFile.create(join(dir, 'short.rpm'), { worker, lane: 1 });
    worker.update([file.laneJob!], new Uint8Array(999));
    file.endInput(1000);
    await expect(file.commit()).rejects.toMatchObject({ code: 'EIO', message: expect.stringContaining('999 bytes, not 1000') as string });
    await file.close();
  });

  it('fails its commit, and still closes, when the worker can no longer report on the lane', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'staged-'));
    const own = DigestWorker.start(1);
    const file = await StagedFile.create(join(dir, 'stopped.rpm'), { worker: own, lane: 0 });
    await own.stop();
    await expect(file.commit()).rejects.toMatchObject({ code: 'RPM_STATE' });
    await expect(file.close()).resolves.toBeUndefined();
  });
});
