import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReply } from '@dom0-updates/protocol';
import { describe, expect, it } from 'vitest';
import { encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, publishedTree, readResult, replyError, runReceiver, type RunResult } from './helpers.ts';

/** A receive of the given fixture set; killed after 60 s so a receiver that blocks fails the test instead of hanging it. */
async function receive(dir: string, set: 'v1' | 'v2' | 'extra'): Promise<RunResult> {
  const f = await getFixtures();
  return runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
    stdin: await encodeStream(await Promise.all(f.packages[set].map((p) => fileMember(p.path)))),
    killAfterMs: 60_000,
  });
}

/** An updates dir with v1 published. */
async function published(): Promise<string> {
  const dir = await makeUpdatesDir();
  const first = await receive(dir, 'v1');
  expect(first.code).toBe(0);
  return dir;
}

describe('what an earlier run or another local user left in the updates dir', () => {
  it('removes a leftover staging dir nested deeper than PATH_MAX (which a compromised stage can build) and publishes', async () => {
    const dir = await published();
    // relative mkdirs from a process of its own: no path to the bottom fits in PATH_MAX (4096)
    const build = "process.chdir(process.argv[1]); for (let i = 0; i < 1200; i++) { require('fs').mkdirSync('aaaa'); process.chdir('aaaa'); }";
    await mkdir(join(dir, 'staging.deep'));
    execFileSync(process.execPath, ['-e', build, join(dir, 'staging.deep')]);
    try {
      const run = await receive(dir, 'v2');
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('cleaned up after an interrupted run: staging.deep');
      expect(await readdir(dir)).not.toContain('staging.deep');
      expect((await readResult(dir))['status']).toBe('published');
    } finally {
      // whatever happened, nothing this deep may be left for the suite's own cleanup
      execFileSync('rm', ['-rf', '--one-file-system', join(dir, 'staging.deep')]);
    }
  });

  it('keeps the generation it switched away from when a half-built one that cannot be removed sits between them', async () => {
    const dir = await published();
    const before = (await readlink(join(dir, 'repo'))).split('/')[1] ?? '';
    // what a crash mid-build leaves, with a mount point inside so that no rm can take it away
    const stuck = join(dir, 'generations', '000000000002-0badc0de');
    await mkdir(join(stuck, 'busy'), { recursive: true });
    const f = await getFixtures();
    const mountBusy = ['unshare', process.getuid?.() === 0 ? '-m' : '-rm', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs "$0" && exec "$@"', join(stuck, 'busy')];
    const v2 = await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path))));
    const keys = await keyringArgs();
    const receiveV2 = (): Promise<RunResult> => runReceiver(['receive', '--updates-dir', dir, ...keys], { stdin: v2, prefix: mountBusy, killAfterMs: 60_000 });
    const run = await receiveV2();
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('could not remove generations/000000000002-0badc0de (EBUSY)');
    const after = (await readlink(join(dir, 'repo'))).split('/')[1] ?? '';
    // the one readers were using until the switch is still whole; the leftover is not kept in its place
    expect((await readdir(join(dir, 'generations'))).sort()).toEqual([before, '000000000002-0badc0de', after].sort());
    expect((await readdir(join(dir, 'generations', before))).filter((n) => n.endsWith('.rpm'))).toHaveLength(f.packages.v1.length);
    // a later run that switches nothing (the same batch again) takes the leftover, which has no
    // metadata, for no reader's previous repository either
    expect((await receiveV2()).code).toBe(0);
    expect((await readdir(join(dir, 'generations'))).sort()).toEqual([before, '000000000002-0badc0de', after].sort());
  });

  it('reads a FIFO at result.json as no record, without blocking, and replaces it with the record', async () => {
    const dir = await published();
    await rm(join(dir, 'result.json'));
    execFileSync('mkfifo', [join(dir, 'result.json')]);
    const run = await receive(dir, 'v2');
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    expect((await lstat(join(dir, 'result.json'))).isFile()).toBe(true);
    // the sequence still moves on: it also counts the generations on disk
    expect((await readResult(dir))['sequence']).toBe(2);
    expect((await readResult(dir))['replaces']).toBeNull();
  });

  it.each([
    ['a fraction', 2.5],
    ['a negative number', -7],
    ['a number past the safe integers', 1e300],
    // the next id would need 13 digits: that generation would be published, then refused by every run
    ['the last a generation id holds', 999_999_999_999],
    ['one past it', 1_000_000_000_000],
  ])('takes a result.json whose sequence is %s for no record, and numbers the next run from its generations', async (_what, sequence) => {
    const dir = await published();
    await writeFile(join(dir, 'result.json'), `${JSON.stringify({ format: 1, sequence, status: 'rejected' })}\n`);
    const run = await receive(dir, 'v2');
    expect(run.code).toBe(0);
    const record = await readResult(dir);
    expect([record['sequence'], record['replaces']]).toEqual([2, null]);
    expect(await readlink(join(dir, 'repo'))).toMatch(/^generations\/000000000002-[0-9a-f]{8}$/);
  });

  it('stops with CONFIG_INVALID, publishing nothing, when the published generation holds the last sequence an id can hold', async () => {
    const dir = await published();
    // (a stray generation above the published one is a crash's leftover and removed; the published one is kept)
    const id = (await readlink(join(dir, 'repo'))).split('/')[1] ?? '';
    await rename(join(dir, 'generations', id), join(dir, 'generations', '999999999999-00000000'));
    await rm(join(dir, 'repo'));
    await symlink('generations/999999999999-00000000', join(dir, 'repo'));
    const before = await readlink(join(dir, 'repo'));
    const run = await receive(dir, 'v2');
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('CONFIG_INVALID');
    expect(run.stderr).toContain('holds a generation numbered 999999999999, the last a generation id can hold');
    expect(await readlink(join(dir, 'repo'))).toBe(before);
  });

  it('takes a FIFO at receiver.lock for a stale lock, without blocking', async () => {
    const dir = await published();
    execFileSync('mkfifo', [join(dir, 'receiver.lock')]);
    const run = await receive(dir, 'v2');
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    expect(await leftovers(dir)).toEqual([]);
  });

  it('refuses a generations dir that is a symlink as CONFIG_INVALID, with a reply, and writes nothing through it', async () => {
    const dir = await published();
    const elsewhere = await mkdtemp(join(tmpdir(), 'dom0-receiver-elsewhere-'));
    await rm(elsewhere, { recursive: true });
    await rename(join(dir, 'generations'), elsewhere);
    await symlink(elsewhere, join(dir, 'generations'));
    const before = await readdir(elsewhere);
    const run = await receive(dir, 'v2');
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('CONFIG_INVALID');
    expect(run.stderr).toContain(`${dir}/generations exists but is not a directory (a symlink); move it away`);
    expect(await readdir(elsewhere)).toEqual(before);
  });

  it.each([
    ['below a generation', (id: string) => `generations/${id}/repodata`],
    ['outside generations/', (id: string) => `elsewhere/${id}`],
  ])('refuses a repo link that points %s, not at generations/<id>, as CONFIG_INVALID and publishes nothing', async (_where, target) => {
    const dir = await published();
    const id = (await readlink(join(dir, 'repo'))).split('/')[1] ?? '';
    await mkdir(join(dir, 'elsewhere', id), { recursive: true });
    await rm(join(dir, 'repo'));
    await symlink(target(id), join(dir, 'repo'));
    const run = await receive(dir, 'v2');
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('CONFIG_INVALID');
    expect(run.stderr).toContain(`${dir}/repo points at "${target(id)}", not at generations/<id>`);
    expect(await readdir(join(dir, 'generations'))).toEqual([id]);
    expect(await readlink(join(dir, 'repo'))).toBe(target(id));
  });

  it('answers a repo that is a directory with CONFIG_INVALID and a reply, not an internal error', async () => {
    const dir = await published();
    await rm(join(dir, 'repo'));
    await mkdir(join(dir, 'repo'));
    const run = await receive(dir, 'v2');
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('CONFIG_INVALID');
    expect(run.stderr).toContain(`${dir}/repo exists but is not a symlink; move it away`);
    expect(run.stderr).not.toContain('internal error');
    // past the lock: recorded, as the README's table says
    expect(await readResult(dir)).toMatchObject({ sequence: 2, status: 'rejected', rejection: { code: 'CONFIG_INVALID' } });
  });

  it('says so when a batch is published but its result record cannot be written: accepted reply, exit 1, no temporary file left', async () => {
    const dir = await published();
    const record = await readResult(dir);
    await rm(join(dir, 'result.json'));
    await mkdir(join(dir, 'result.json', 'x'), { recursive: true });
    const run = await receive(dir, 'v2');
    expect(run.code).toBe(1);
    expect(parseReply(Buffer.from(run.stdout)).status).toBe('accepted');
    expect(run.stderr).toMatch(/published generation 000000000002-[0-9a-f]{8} \(3 new package\(s\)\)\n.*but the result record could not be written \(EISDIR\): dom0-update cannot tell what this batch held, so the run counts as failed/);
    // the switch was made: the record is what is missing, not the publication
    expect(await readlink(join(dir, 'repo'))).toMatch(/^generations\/000000000002-/);
    expect(await leftovers(dir)).toEqual([]);
    expect(record['sequence']).toBe(1);
  });

  it('sweeps a stray file in generations/ and publishes', async () => {
    const dir = await published();
    await writeFile(join(dir, 'generations', 'stray'), 'x');
    const run = await receive(dir, 'v2');
    expect(run.code).toBe(0);
    expect(await readdir(join(dir, 'generations'))).not.toContain('stray');
    expect(Object.keys(await publishedTree(dir))).toContain('repo/dom0-hello-2.0-1.noarch.rpm');
  });
});
