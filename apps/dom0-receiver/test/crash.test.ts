import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BUNDLE, createrepoStandIn, encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, publishedTree, runReceiver, sha256, startPausedAt } from './helpers.ts';


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

/** Whether a process is still running (a zombie waiting for its reaper has ended). */
async function running(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('crash safety while createrepo_c runs', () => {
  it('a receiver killed with SIGKILL takes createrepo_c with it, and the next run publishes', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const args = ['receive', '--updates-dir', dir, ...(await keyringArgs())];
    expect((await runReceiver(args, { stdin: await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path)))) })).code).toBe(0);
    const oldTree = await publishedTree(dir);

    // a createrepo_c that says where it runs and then takes its time, as a big repository does
    const slow = await createrepoStandIn((bin) => `echo $$ > ${join(bin, 'pid')}.part && mv ${join(bin, 'pid')}.part ${join(bin, 'pid')}\nexec sleep 120\n`);
    const pidFile = join(slow.dir, 'pid');
    const v2 = await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path))));
    const receiver = spawn(process.execPath, [BUNDLE, ...args], { stdio: ['pipe', 'ignore', 'ignore'], env: { PATH: slow.path } });
    receiver.stdin.on('error', () => undefined);
    receiver.stdin.end(v2);
    const ended = new Promise<NodeJS.Signals | null>((resolve) => receiver.on('close', (_code, signal) => resolve(signal)));
    const createrepoPid = await waitFor('createrepo_c to start', async () => {
      const text = await readFile(pidFile, 'utf8').catch(() => undefined);
      return text === undefined ? undefined : Number(text.trim());
    });
    expect(await running(createrepoPid)).toBe(true);

    receiver.kill('SIGKILL');
    expect(await ended).toBe('SIGKILL');
    await waitFor('createrepo_c to end with the receiver', async () => ((await running(createrepoPid)) ? undefined : true));
    expect(await publishedTree(dir)).toEqual(oldTree);

    const again = await runReceiver(args, { stdin: v2 });
    expect(again.code).toBe(0);
    expect((await readdir(join(dir, 'repo'))).filter((n) => n.endsWith('.rpm')).sort()).toEqual(
      [...f.packages.v1, ...f.packages.v2].map((p) => p.fileName).sort(),
    );
    expect(await leftovers(dir)).toEqual([]);
  });
});
