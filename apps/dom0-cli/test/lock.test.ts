import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeZombie } from '@dom0-updates/fixtures';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LockError } from '../src/errors.ts';
import { acquireLock, breakStale } from '../src/lock.ts';
import { BUNDLES, cliBundleForAnyUser } from './support/build-bundles.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'dom0-cli-lock-'));

describe('acquireLock', () => {
  it('creates the lock with our pid and removes it on release', async () => {
    const path = join(scratch(), 'sub', 'lock');
    const lock = await acquireLock(path);
    // our pid and the kernel's start time of this process
    expect(readFileSync(path, 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('is LOCK_UNAVAILABLE, naming the directory, when the lock file\'s directory cannot be made', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'afile'), '');
    const error = await acquireLock(join(dir, 'afile', 'sub', 'lock')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).code).toBe('LOCK_UNAVAILABLE');
    expect((error as LockError).message).toContain(`cannot make the lock file's directory ${join(dir, 'afile', 'sub')}: ${join(dir, 'afile', 'sub')} or one of its parents is not a directory (ENOTDIR)`);
    // a file right where the directory belongs: mkdir says EEXIST
    const direct = await acquireLock(join(dir, 'afile', 'lock')).catch((e: unknown) => e);
    expect((direct as LockError).message).toContain(`cannot make the lock file's directory ${join(dir, 'afile')}: ${join(dir, 'afile')} or one of its parents is not a directory`);
  });

  it('is LOCK_UNAVAILABLE for a lock file\'s directory under /proc, where Node\'s own recursive mkdir never returns', async () => {
    await expect(acquireLock('/proc/dom0-update-test/lock')).rejects.toMatchObject({
      code: 'LOCK_UNAVAILABLE',
      message: expect.stringContaining("cannot make the lock file's directory /proc/dom0-update-test") as string,
    });
  });

  it('is LOCK_UNAVAILABLE for a directory where the lock file belongs, and leaves it where it is', async () => {
    const dir = scratch();
    const path = join(dir, 'lock');
    mkdirSync(path);
    await expect(acquireLock(path)).rejects.toMatchObject({ code: 'LOCK_UNAVAILABLE', message: expect.stringContaining('something other than a file is there') as string });
    expect(readdirSync(dir)).toEqual(['lock']);
  });

  it('is LOCK_UNAVAILABLE on a full file system and leaves no temporary lock behind', async () => {
    const dir = scratch();
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir]);
    try {
      await execa('sh', ['-c', 'dd if=/dev/zero of="$0/fill" bs=4k 2>/dev/null || true', dir]);
      await expect(acquireLock(join(dir, 'lock'))).rejects.toMatchObject({ code: 'LOCK_UNAVAILABLE', message: expect.stringContaining('ENOSPC') as string });
      expect(readdirSync(dir)).toEqual(['fill']);
    } finally {
      await execa('umount', [dir]);
    }
  });

  it('writes its lock anew past a temporary file or link a crashed run with this pid left, never through it', async () => {
    const dir = scratch();
    const path = join(dir, 'lock');
    const target = join(dir, 'target');
    writeFileSync(target, 'keep\n');
    symlinkSync(target, `${path}.${process.pid}.tmp`);
    const lock = await acquireLock(path);
    expect(readFileSync(path, 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
    expect(readFileSync(target, 'utf8')).toBe('keep\n');
    lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (start time differs), and a garbled one', async () => {
    for (const stale of [`${process.ppid} 1\n`, 'not a pid\n', '']) {
      const path = join(scratch(), 'lock');
      writeFileSync(path, stale);
      const lock = await acquireLock(path);
      expect(readFileSync(path, 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
      lock.release();
    }
  });

  it('refuses while the process that wrote the lock lives, start time and all, and says how to clear a wrong one', async () => {
    const path = join(scratch(), 'lock');
    const parent = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    writeFileSync(path, `${process.ppid} ${parent.slice(parent.lastIndexOf(')') + 2).split(' ')[19] ?? ''}\n`);
    await expect(acquireLock(path)).rejects.toThrow(/another dom0-update is running \(pid \d+, lock file .*\); wait for it to finish, or remove the lock file if no dom0-update is running/);
  });

  it('refuses while a live process holds the lock, naming its pid', async () => {
    const path = join(scratch(), 'lock');
    writeFileSync(path, `${process.ppid}\n`);
    let caught: unknown;
    try {
      await acquireLock(path);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LockError);
    expect((caught as LockError).code).toBe('LOCK_HELD');
    expect((caught as LockError).message).toContain(`pid ${process.ppid}`);
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.ppid));
  });

  it('refuses while the lock names a live process of another user, which it may not signal (EPERM)', async () => {
    // As root: dom0-update runs as nobody, and the lock names this (root's) process. Otherwise the
    // lock names pid 1, which belongs to root.
    const asRoot = process.getuid?.() === 0;
    const owner = asRoot ? process.pid : 1;
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-lock-other-user-'));
    // writable by all and not sticky: a run that judged the lock stale could move it aside and take it
    chmodSync(dir, 0o777);
    const path = join(dir, 'lock');
    writeFileSync(path, `${owner}\n`);
    const config = join(dir, 'dom0-update.conf');
    // --check-only with an agent that answers "no updates": a run that took the lock would exit 0
    const repos = join(dir, 'repos.d');
    mkdirSync(repos);
    writeFileSync(join(repos, 'local.repo'), '[local]\nbaseurl=file:///nowhere\n');
    writeFileSync(config, ['TRANSPORT=local', `LOCK_FILE=${path}`, `REPOS_DIR=${repos}`, 'AGENT_COMMAND=["sh", "-c", "cat >/dev/null; exit 0"]', ''].join('\n'));
    const r = asRoot
      ? await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliBundleForAnyUser(), `--config=${config}`, '--check-only'], { reject: false, stdin: 'ignore' })
      : await execa(process.execPath, [BUNDLES.cli, `--config=${config}`, '--check-only'], { reject: false, stdin: 'ignore' });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain(`another dom0-update is running (pid ${owner}, lock file ${path})`);
    expect(r.stderr).toContain('[LOCK_HELD]');
    expect(readFileSync(path, 'utf8')).toBe(`${owner}\n`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('warns, and keeps its outcome, when the lock file cannot be removed at the end on a file system gone read-only', async () => {
    const dir = scratch();
    const lockDir = join(dir, 'run');
    mkdirSync(lockDir);
    const path = join(lockDir, 'dom0-update.lock');
    const repos = join(dir, 'repos.d');
    mkdirSync(repos);
    writeFileSync(join(repos, 'local.repo'), '[local]\nbaseurl=file:///nowhere\n');
    const config = join(dir, 'dom0-update.conf');
    // an agent that answers "no updates" after a second, by when the lock's file system is read-only
    writeFileSync(config, ['TRANSPORT=local', `LOCK_FILE=${path}`, `REPOS_DIR=${repos}`, 'AGENT_COMMAND=["sh", "-c", "cat >/dev/null; sleep 1; exit 0"]', ''].join('\n'));
    // a private tmpfs for the lock, remounted read-only once the lock is on it
    const readOnlyMidRun = `mount -t tmpfs -o size=1m tmpfs "$0" && { (until [ -e "$0/dom0-update.lock" ]; do sleep 0.02; done; mount -o remount,ro "$0") & } && exec "$@"`;
    const r = await execa('unshare', [process.getuid?.() === 0 ? '-m' : '-rm', '--propagation', 'private', '--', 'sh', '-c', readOnlyMidRun, lockDir, process.execPath, BUNDLES.cli, `--config=${config}`, '--check-only'], {
      reject: false,
      stdin: 'ignore',
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('No updates available, as the UpdateVM reports.');
    expect(r.stderr).toContain(`dom0-update: warning: could not remove the lock file ${path} (EROFS); the next run takes it as stale`);
  });

  it('refuses a second run while the first holds the kernel mutex, even with its lock file gone, and frees it on release', async () => {
    const path = join(scratch(), 'lock');
    const first = await acquireLock(path);
    unlinkSync(path); // a person who removed the file, or a stale-lock breaker that raced
    await expect(acquireLock(path)).rejects.toMatchObject({ code: 'LOCK_HELD' });
    first.release();
    const second = await acquireLock(path);
    expect(readFileSync(path, 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
    second.release();
    expect(existsSync(path)).toBe(false);
  });

  it('lets only one of several runs that start at once over a stale lock take it', async () => {
    const path = join(scratch(), 'lock');
    writeFileSync(path, '4194305\n');
    // the abstract name is the kernel's, so attempts from one process contend as runs would
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => acquireLock(path)));
    const taken = outcomes.filter((o) => o.status === 'fulfilled');
    expect(taken).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'LOCK_HELD' });
    expect(readFileSync(path, 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
    (taken[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value.release();
    expect(existsSync(path)).toBe(false);
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const path = join(scratch(), 'lock');
    // pid 2^22+1 is above Linux's pid_max ceiling, so it can never be alive.
    writeFileSync(path, '4194305\n');
    const lock = await acquireLock(path);
    expect(readFileSync(path, 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
    lock.release();
  });

  it('takes over a lock whose process was killed but not yet reaped: a zombie holds nothing', async () => {
    const zombie = await makeZombie();
    try {
      const path = join(scratch(), 'lock');
      writeFileSync(path, `${String(zombie.pid)} ${zombie.start}\n`);
      const lock = await acquireLock(path);
      expect(readFileSync(path, 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
      lock.release();
    } finally {
      zombie.end();
    }
  });

  it('does not remove a lock that another run took over', async () => {
    const path = join(scratch(), 'lock');
    const lock = await acquireLock(path);
    writeFileSync(path, `${process.ppid}\n`);
    lock.release();
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.ppid));
  });

  it('puts back a lock another run took after this one judged the old lock stale', () => {
    const dir = scratch();
    const path = join(dir, 'lock');
    // judged stale: "4194305"; meanwhile another run broke it and wrote its own
    writeFileSync(path, `${process.ppid} 7\n`);
    breakStale(path, '4194305\n');
    expect(readFileSync(path, 'utf8')).toBe(`${process.ppid} 7\n`);
    expect(readdirSync(dir)).toEqual(['lock']);
    // the lock judged stale is still there: it goes
    writeFileSync(path, '4194305\n');
    breakStale(path, '4194305\n');
    expect(readdirSync(dir)).toEqual([]);
  });
});
