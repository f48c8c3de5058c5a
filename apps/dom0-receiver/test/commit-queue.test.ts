import { describe, expect, it } from 'vitest';
import { CommitQueue } from '../src/stage/commit-queue.ts';
import type { StagedFile } from '../src/stage/staged-file.ts';

/** A stand-in for a staged file whose commit the test settles by hand. */
function controllable(): { file: StagedFile; started: () => boolean; finish: (error?: Error) => void } {
  let started = false;
  let settle: ((error?: Error) => void) | undefined;
  const commit = (): Promise<void> => {
    started = true;
    return new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
  };
  return {
    file: { commit } as unknown as StagedFile,
    started: () => started,
    finish: (error) => settle?.(error),
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('CommitQueue (background fdatasync of verified members)', () => {
  it('runs two commits at a time and drain() waits for every one', async () => {
    const queue = new CommitQueue();
    const files = [controllable(), controllable(), controllable()];
    for (const [i, f] of files.entries()) await queue.add(f.file, `m${i}.rpm`);
    expect(files.map((f) => f.started())).toEqual([true, true, false]);
    let drained = false;
    const draining = queue.drain().then(() => (drained = true));
    files[0]?.finish();
    await turn();
    expect(files[2]?.started()).toBe(true);
    files[1]?.finish();
    await turn();
    expect(drained).toBe(false);
    files[2]?.finish();
    await draining;
    expect(drained).toBe(true);
  });

  it('turns a failed commit into STAGE_IO naming the member', async () => {
    const queue = new CommitQueue();
    const f = controllable();
    await queue.add(f.file, 'broken.rpm');
    f.finish(Object.assign(new Error('input/output error'), { code: 'EIO' }));
    await expect(queue.drain()).rejects.toMatchObject({ code: 'STAGE_IO', member: 'broken.rpm' });
    await expect(queue.add(controllable().file, 'next.rpm')).rejects.toMatchObject({ code: 'STAGE_IO', member: 'broken.rpm' });
  });

  it('makes the receive loop wait once sixteen files are waiting for the disk', async () => {
    const queue = new CommitQueue();
    const files = Array.from({ length: 17 }, () => controllable());
    for (const [i, f] of files.slice(0, 16).entries()) await queue.add(f.file, `m${i}.rpm`);
    let added = false;
    const adding = queue.add(files[16]?.file as StagedFile, 'm16.rpm').then(() => (added = true));
    await turn();
    expect(added).toBe(false);
    files[0]?.finish();
    await adding;
    expect(added).toBe(true);
    for (const f of files.slice(1)) f.finish();
    // the rest start as earlier ones finish
    for (let i = 0; i < 20; i++) {
      await turn();
      for (const f of files) if (f.started()) f.finish();
    }
    await queue.drain();
    expect(files.every((f) => f.started())).toBe(true);
  });
});
