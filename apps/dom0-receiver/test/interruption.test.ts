import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { parseReply } from '@dom0-updates/protocol';
import { describe, expect, it } from 'vitest';
import { BUNDLE, encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, publishedTree, readResult, receiveWithStalledSender, runReceiver } from './helpers.ts';

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
