import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseReply } from '@dom0-updates/protocol';
import { describe, expect, it } from 'vitest';
import { BUNDLE, createrepoStandIn, encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, publishedTree, publishedV1, readResult, receiveWithStalledSender, runReceiver } from './helpers.ts';

async function batch(which: 'v1' | 'v2'): Promise<Buffer> {
  const f = await getFixtures();
  return encodeStream(await Promise.all(f.packages[which].map((p) => fileMember(p.path))));
}

/** Waits until the stage has written the first member of the batch into its staging dir. */
describe('a signal during receive', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s while the sender stalls stops the stage, records RECEIVE_INTERRUPTED and leaves the repository and the dir clean', async (signal, exitCode) => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    expect((await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: await batch('v1') })).code).toBe(0);
    const before = await publishedTree(dir);

    // the whole first package of the next batch, then part of the second member's header, then nothing
    const v2 = await batch('v2');
    const first = f.packages.v2[0];
    if (first === undefined) throw new Error('fixture set without v2 packages');
    const firstFile = first.fileName;
    const firstSize = (await stat(first.path)).size;
    const held = await receiveWithStalledSender(dir, v2, 512 + Math.ceil(firstSize / 512) * 512 + 100, firstFile);
    const end = await held.interrupt(signal);
    const { stdout, stderr } = end;

    expect({ code: end.code, signal: end.signal }).toEqual({ code: exitCode, signal: null });
    const reply = parseReply(Buffer.from(stdout));
    expect(reply.status === 'rejected' ? reply.error.code : reply.status).toBe('RECEIVE_INTERRUPTED');
    expect(stderr).toContain(`interrupted by ${signal}`);
    const record = await readResult(dir);
    expect(record['status']).toBe('rejected');
    expect((record['rejection'] as { code: string }).code).toBe('RECEIVE_INTERRUPTED');
    expect(await leftovers(dir)).toEqual([]);
    expect(await publishedTree(dir)).toEqual(before);
    // the next receive finds nothing to clean up and works
    const next = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: v2 });
    expect(next.code).toBe(0);
    expect(next.stderr).not.toContain('cleaned up after an interrupted run');
  });
});

describe('a reader that goes away', () => {
  it('does not stop the receiver: the batch is published, recorded and the lock released', async () => {
    const dir = await makeUpdatesDir();
    const stream = await batch('v1');
    const child = spawn(process.execPath, [BUNDLE, 'receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    });
    // nobody reads the reply or the diagnostics: every write to them fails with EPIPE
    child.stdout.destroy();
    child.stderr.destroy();
    child.stdin.on('error', () => undefined);
    child.stdin.end(stream);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));

    expect(code).toBe(0);
    const record = await readResult(dir);
    expect(record['status']).toBe('published');
    expect((record['accepted'] as unknown[]).length).toBe((await getFixtures()).packages.v1.length);
    expect(await leftovers(dir)).toEqual([]);
    expect(Object.keys(await publishedTree(dir))).toContain('repo/repodata/repomd.xml');
  });
});

/** A PATH whose createrepo_c never ends (as one stuck on I/O or stopped would), and where it writes its pid. */
async function hungCreaterepo(): Promise<{ path: string; pid: () => Promise<number> }> {
  const hung = await createrepoStandIn((bin) => `echo $$ > ${join(bin, 'pid')}.part && mv ${join(bin, 'pid')}.part ${join(bin, 'pid')}\nexec sleep 300\n`);
  const pidFile = join(hung.dir, 'pid');
  const pid = async (): Promise<number> => {
    for (let i = 0; i < 1200; i += 1) {
      const text = await readFile(pidFile, 'utf8').catch(() => undefined);
      if (text !== undefined) return Number(text.trim());
      await sleep(50);
    }
    throw new Error('createrepo_c never started');
  };
  return { path: hung.path, pid };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a createrepo_c that never ends', () => {
  it('is stopped by a signal to the receiver: nothing published, RECEIVE_INTERRUPTED recorded, the lock free for the next receive', async () => {
    const dir = await publishedV1();
    const args = ['receive', '--updates-dir', dir, ...(await keyringArgs())];
    const before = await publishedTree(dir);
    const hung = await hungCreaterepo();
    const receiver = spawn(process.execPath, [BUNDLE, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: hung.path } });
    let stdout = '';
    receiver.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    receiver.stderr.resume();
    receiver.stdin.on('error', () => undefined);
    receiver.stdin.end(await batch('v2'));
    const ended = new Promise<number | null>((resolve) => receiver.on('close', (code) => resolve(code)));
    const createrepo = await hung.pid();
    receiver.kill('SIGTERM');
    const code = await Promise.race([ended, sleep(30_000).then(() => 'still running' as const)]);
    if (code === 'still running') receiver.kill('SIGKILL');
    expect(code).toBe(143);
    expect(alive(createrepo)).toBe(false);
    const reply = parseReply(Buffer.from(stdout));
    expect(reply.status === 'rejected' ? reply.error.code : reply.status).toBe('RECEIVE_INTERRUPTED');
    expect(await publishedTree(dir)).toEqual(before);
    expect(((await readResult(dir))['rejection'] as { code: string }).code).toBe('RECEIVE_INTERRUPTED');
    expect(await leftovers(dir)).toEqual([]);
    // the lock is free: the same batch, with the real createrepo_c, is published
    const next = await runReceiver(args, { stdin: await batch('v2') });
    expect(next.code, next.stderr).toBe(0);
    expect(await publishedTree(dir)).not.toEqual(before);
  }, 180_000);

  it('is stopped at --timeout, and the batch fails as CREATEREPO_FAILED with the repository unchanged', async () => {
    const dir = await publishedV1();
    const args = ['receive', '--updates-dir', dir, ...(await keyringArgs())];
    const before = await publishedTree(dir);
    const hung = await hungCreaterepo();
    const run = await runReceiver([...args, '--timeout', '10'], { stdin: await batch('v2'), env: { PATH: hung.path }, killAfterMs: 60_000 });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('CREATEREPO_FAILED: createrepo_c did not finish within 10 s (--timeout) and was stopped');
    expect(alive(await hung.pid())).toBe(false);
    expect(await publishedTree(dir)).toEqual(before);
    expect(await leftovers(dir)).toEqual([]);
  }, 180_000);
});
