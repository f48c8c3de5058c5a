import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeZombie } from '@dom0-updates/fixtures';
import { describe, expect, it } from 'vitest';
import { acquireLock, type Lock } from '../src/updates-dir/lock.ts';
import { encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, replyError, runReceiver, startPausedAt, treeHash } from './helpers.ts';

describe('the receiver lock', () => {
  it('lets exactly one of many receivers that start together past a stale lock, round after round', async () => {
    for (let round = 0; round < 30; round += 1) {
      const dir = await makeUpdatesDir();
      const path = join(dir, 'receiver.lock');
      // this process's pid with another start time: the holder of an earlier boot, or a pid reused
      await writeFile(path, `${process.pid} 1\n`);
      const attempts = await Promise.allSettled(Array.from({ length: 8 }, () => acquireLock(path)));
      const held = attempts.filter((a): a is PromiseFulfilledResult<Lock> => a.status === 'fulfilled');
      expect(held.length).toBe(1);
      for (const a of attempts) if (a.status === 'rejected') expect(a.reason).toMatchObject({ code: 'RECEIVER_BUSY' });
      await held[0]!.value.release();
      // released: the next one takes it at once
      await (await acquireLock(path)).release();
    }
  });

  it('fills the lock file before it appears, so no receiver in another namespace can see it empty and take it for stale', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const args = ['receive', '--updates-dir', dir, ...(await keyringArgs())];
    const stream = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    const paused = await startPausedAt('lock-file-filled', args, stream, ['unshare', '--net']);
    let killed = false;
    try {
      const names = await readdir(dir);
      expect(names).not.toContain('receiver.lock');
      const filling = names.filter((name) => name.startsWith('receiver.lock.new.'));
      expect(filling).toHaveLength(1);
      expect(await readFile(join(dir, filling[0] ?? ''), 'utf8')).toMatch(new RegExp(`^${paused.pid} \\d+\n$`));
      await paused.kill();
      killed = true;
      // the next receiver takes the lock and removes what the killed one left
      const run = await runReceiver(args, { stdin: stream });
      expect(run.code).toBe(0);
      expect(run.stderr).toContain(`cleaned up after an interrupted run: ${filling[0] ?? ''}`);
      expect(await leftovers(dir)).toEqual([]);
      expect((await readdir(dir)).filter((name) => name.startsWith('receiver.lock'))).toEqual([]);
    } finally {
      if (!killed) await paused.kill();
    }
  });

  it('takes a directory planted at its name for a stale lock and removes it', async () => {
    const dir = await makeUpdatesDir();
    const path = join(dir, 'receiver.lock');
    await mkdir(join(path, 'inside'), { recursive: true });
    await (await acquireLock(path)).release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a second holder while the first holds it, and frees it on release', async () => {
    const dir = await makeUpdatesDir();
    const path = join(dir, 'receiver.lock');
    const first = await acquireLock(path);
    await expect(acquireLock(path)).rejects.toMatchObject({ code: 'RECEIVER_BUSY', message: `another receiver (pid ${process.pid}) holds ${path}` });
    await first.release();
    await (await acquireLock(path)).release();
  });

  it('says, and does not fail as an internal error, when its lock file cannot be removed on a file system gone read-only', async () => {
    const mountPoint = await makeUpdatesDir();
    const updatesDir = join(mountPoint, 'updates');
    // a private tmpfs, remounted read-only once the receive has its lock and staging dir; the
    // sender then stalls until the deadline, so the receive ends with everything left to remove
    const readOnlyMidRun = [
      'unshare',
      process.getuid?.() === 0 ? '-m' : '-rm',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      'mount -t tmpfs -o size=16m tmpfs "$0" && { (until ls -d "$0"/updates/staging.* >/dev/null 2>&1; do sleep 0.02; done; mount -o remount,ro "$0") & } && exec "$@"',
      mountPoint,
    ];
    const run = await runReceiver(['receive', '--updates-dir', updatesDir, ...(await keyringArgs()), '--timeout', '2'], { stdin: 'stall', prefix: readOnlyMidRun, killAfterMs: 60_000 });
    expect(run.code, run.stderr).toBe(1);
    expect(replyError(run).code).toBe('TAR_TIMEOUT');
    expect(run.stderr).toContain(`could not remove the lock file ${join(updatesDir, 'receiver.lock')} (EROFS); the next receive takes it as stale`);
    expect(run.stderr).not.toContain('internal error');
  });

  it('takes a lock whose receiver was killed but not yet reaped: a zombie holds nothing', async () => {
    const dir = await makeUpdatesDir();
    const path = join(dir, 'receiver.lock');
    const zombie = await makeZombie();
    try {
      await writeFile(path, `${String(zombie.pid)} ${zombie.start}\n`);
      const lock = await acquireLock(path);
      expect(await readFile(path, 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
      await lock.release();
      expect(await readdir(dir)).toEqual([]);
    } finally {
      zombie.end();
    }
  });

  it('leaves, on release, a lock file that names another holder (one that took it for stale meanwhile)', async () => {
    const dir = await makeUpdatesDir();
    const path = join(dir, 'receiver.lock');
    const lock = await acquireLock(path);
    await writeFile(path, '1 12345\n');
    await lock.release();
    expect(await readFile(path, 'utf8')).toBe('1 12345\n');
  });

  it('turns away a receiver in another network namespace by the lock file alone (the kernel mutex is per namespace)', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const args = ['receive', '--updates-dir', dir, ...(await keyringArgs())];
    const stream = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    // the holder binds its abstract socket name in a network namespace of its own
    const paused = await startPausedAt('after-stage', args, stream, ['unshare', '--net']);
    try {
      const busy = await runReceiver(args, { stdin: stream });
      expect(busy.code).toBe(1);
      expect(replyError(busy)).toMatchObject({ code: 'RECEIVER_BUSY' });
      expect(busy.stderr).toContain(`RECEIVER_BUSY: another receiver (pid ${paused.pid}) holds ${join(dir, 'receiver.lock')}`);
      expect(await readFile(join(dir, 'receiver.lock'), 'utf8')).toMatch(new RegExp(`^${paused.pid} \\d+\n$`));
    } finally {
      await paused.kill();
    }
  });

  it('is freed by the kernel when its holder is killed with SIGKILL, and the next receive cleans up', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const args = ['receive', '--updates-dir', dir, ...(await keyringArgs())];
    const stream = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    const paused = await startPausedAt('after-stage', args, stream);
    // while it holds the lock, another receive is turned away and changes nothing
    const whole = await treeHash(dir);
    const busy = await runReceiver(args, { stdin: stream });
    expect(busy.code).not.toBe(0);
    expect(replyError(busy)).toMatchObject({ code: 'RECEIVER_BUSY' });
    expect(await treeHash(dir)).toEqual(whole);
    expect(await paused.kill()).toBe('SIGKILL');
    const next = await runReceiver(args, { stdin: stream });
    expect(next.code).toBe(0);
    expect(next.stderr).toMatch(/published generation/);
    expect(await leftovers(dir)).toEqual([]);
  });
});
