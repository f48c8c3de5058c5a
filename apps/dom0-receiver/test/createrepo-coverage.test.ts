import { copyFile, link, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishError } from '../src/errors.ts';
import { runCreaterepo } from '../src/publish/createrepo.ts';
import { createrepoStandIn, encodeStream, fileMember, getFixtures, keyringArgs, leftovers, publishedTree, publishedV1, readResult, replyError, runReceiver } from './helpers.ts';

// createrepo_c skips a file it cannot read as a package and still exits 0
const UNREADABLE = 'broken-1-1.noarch.rpm';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'createrepo-coverage-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function repoWith(name: string, files: readonly { fileName: string; path: string }[]): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir);
  for (const f of files) await copyFile(f.path, join(dir, f.fileName));
  return dir;
}

async function rejection(run: Promise<unknown>): Promise<PublishError> {
  const error: unknown = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof PublishError)) throw new Error(`expected a PublishError, got ${String(error)}`);
  return error;
}

describe('createrepo_c must list every package', () => {
  it('names a package createrepo_c left out of fresh metadata although it exited 0', async () => {
    const f = await getFixtures();
    const dir = await repoWith('fresh', f.packages.v1);
    await writeFile(join(dir, UNREADABLE), 'not an rpm');
    const scratch = await mkdtemp(join(work, 'scratch-'));
    const error = await rejection(runCreaterepo(dir, scratch));
    expect(error.code).toBe('CREATEREPO_FAILED');
    expect(error.member).toBe(UNREADABLE);
    expect(error.message).toBe(`createrepo_c left 1 package(s) out of the metadata: ${UNREADABLE}`);
    // the scratch files (read list) are gone either way
    expect(await readdir(scratch)).toEqual([]);
  });

  it('names a new package it left out when the others came from the previous metadata', async () => {
    const f = await getFixtures();
    const previous = await repoWith('previous', f.packages.v1);
    const scratch = await mkdtemp(join(work, 'scratch-'));
    await runCreaterepo(previous, scratch);
    const next = join(work, 'next');
    await mkdir(next);
    for (const p of f.packages.v1) await link(join(previous, p.fileName), join(next, p.fileName));
    const good = f.packages.extra[0];
    if (good === undefined) throw new Error('fixture without extra packages');
    await copyFile(good.path, join(next, good.fileName));
    await writeFile(join(next, UNREADABLE), 'not an rpm');
    const error = await rejection(runCreaterepo(next, scratch, { reuseFrom: previous, newFiles: [good.fileName, UNREADABLE] }));
    expect(error.code).toBe('CREATEREPO_FAILED');
    expect(error.message).toBe(`createrepo_c left 1 package(s) out of the metadata: ${UNREADABLE}`);
  });

  it('passes when every new package was read and the others were reused', async () => {
    const f = await getFixtures();
    const previous = await repoWith('previous-ok', f.packages.v1);
    const scratch = await mkdtemp(join(work, 'scratch-'));
    const first = await runCreaterepo(previous, scratch);
    expect(first.packagesRead).toBe(f.packages.v1.length);
    const next = join(work, 'next-ok');
    await mkdir(next);
    for (const p of f.packages.v1) await link(join(previous, p.fileName), join(next, p.fileName));
    for (const p of f.packages.extra) await copyFile(p.path, join(next, p.fileName));
    const run = await runCreaterepo(next, scratch, { reuseFrom: previous, newFiles: f.packages.extra.map((p) => p.fileName) });
    expect(run.packagesRead).toBe(f.packages.extra.length);
  });
});

describe('a receive whose createrepo_c leaves out an accepted package', () => {
  it('is rejected as CREATEREPO_FAILED and leaves the published repository as it was', async () => {
    const f = await getFixtures();
    const dir = await publishedV1();
    const before = await publishedTree(dir);

    // the real createrepo_c, told to skip one package: what it does with one it cannot read
    const skipped = f.packages.extra[0];
    if (skipped === undefined) throw new Error('fixture without extra packages');
    const skipping = await createrepoStandIn(() => `exec /usr/bin/createrepo_c --excludes '${skipped.fileName}' "$@"\n`, work);
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: await encodeStream(await Promise.all(f.packages.extra.map((p) => fileMember(p.path)))),
      env: { PATH: skipping.path },
    });
    expect(run.code).not.toBe(0);
    const error = replyError(run);
    expect(error.code).toBe('CREATEREPO_FAILED');
    expect(error.member).toBe(skipped.fileName);
    expect((await readResult(dir))['status']).toBe('rejected');
    expect(await publishedTree(dir)).toEqual(before);
    expect(await leftovers(dir)).toEqual([]);
  });
});
