import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, publishedTree, runReceiver, sha256, startPausedAt } from './helpers.ts';


/** Package names the repo metadata lists, from primary.xml. */
async function metadataNames(repo: string): Promise<string[]> {
  const repomd = await readFile(join(repo, 'repodata', 'repomd.xml'), 'utf8');
  const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)?.[1];
  if (href === undefined) throw new Error('no primary metadata');
  const primary = gunzipSync(await readFile(join(repo, href))).toString('utf8');
  return [...primary.matchAll(/<location href="([^"]+\.rpm)"/g)].map((m) => m[1] ?? '').sort();
}

/** The published repo is a consistent whole: its files are signed originals and its metadata lists exactly them. */
async function publishedSet(dir: string, originals: Map<string, string>): Promise<string[]> {
  const repo = join(dir, 'repo');
  const files = (await readdir(repo)).filter((n) => n.endsWith('.rpm')).sort();
  for (const name of files) expect(sha256(await readFile(join(repo, name)))).toBe(originals.get(name));
  expect(await metadataNames(repo)).toEqual(files);
  return files;
}

describe('crash safety (kill -9 at named points)', () => {
  const points: [string, 'old' | 'new'][] = [
    ['stage-after-member', 'old'],
    ['after-stage', 'old'],
    ['after-generation', 'old'],
    ['after-createrepo', 'old'],
    ['before-swap', 'old'],
    ['after-swap', 'new'],
    ['after-result', 'new'],
  ];

  it.each(points)('killed at %s, the repo is the %s one and the next run recovers', async (point, expected) => {
    const f = await getFixtures();
    const originals = new Map<string, string>();
    for (const p of [...f.packages.v1, ...f.packages.v2]) originals.set(p.fileName, sha256(await readFile(p.path)));
    const oldNames = f.packages.v1.map((p) => p.fileName).sort();
    const newNames = [...f.packages.v1, ...f.packages.v2].map((p) => p.fileName).sort();
    const dir = await makeUpdatesDir();
    const args = ['receive', '--updates-dir', dir, ...(await keyringArgs())];
    const first = await runReceiver(args, { stdin: await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path)))) });
    expect(first.code).toBe(0);
    const oldTree = await publishedTree(dir);

    const v2 = await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path))));
    const paused = await startPausedAt(point, args, v2);
    expect(await paused.kill()).toBe('SIGKILL');

    const names = await publishedSet(dir, originals);
    expect(names).toEqual(expected === 'old' ? oldNames : newNames);
    if (expected === 'old') expect(await publishedTree(dir)).toEqual(oldTree);

    // the next run cleans up what the killed one left (stale lock, staging, half-built generation)
    const again = await runReceiver(args, { stdin: v2 });
    // after the swap the batch is already published: the rerun finds nothing new
    expect(again.stderr).toMatch(/published generation|stays published/);
    expect(again.code).toBe(0);
    expect(await publishedSet(dir, originals)).toEqual(newNames);
    expect(await leftovers(dir)).toEqual([]);
    expect((await readdir(join(dir, 'generations'))).length).toBeLessThanOrEqual(2);
  });
});
