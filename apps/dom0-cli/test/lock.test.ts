import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockError } from '../src/errors.ts';
import { acquireLock } from '../src/lock.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'dom0-cli-lock-'));

describe('acquireLock', () => {
  it('creates the lock with our pid and removes it on release', () => {
    const path = join(scratch(), 'sub', 'lock');
    const lock = acquireLock(path);
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.pid));
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses while a live process holds the lock, naming its pid', () => {
    const path = join(scratch(), 'lock');
    writeFileSync(path, `${process.ppid}\n`);
    let caught: unknown;
    try {
      acquireLock(path);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LockError);
    expect((caught as LockError).code).toBe('LOCK_HELD');
    expect((caught as LockError).message).toContain(`pid ${process.ppid}`);
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.ppid));
  });

  it('takes over a lock left by a process that no longer exists', () => {
    const path = join(scratch(), 'lock');
    // pid 2^22+1 is above Linux's pid_max ceiling, so it can never be alive.
    writeFileSync(path, '4194305\n');
    const lock = acquireLock(path);
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.pid));
    lock.release();
  });

  it('does not remove a lock that another run took over', () => {
    const path = join(scratch(), 'lock');
    const lock = acquireLock(path);
    writeFileSync(path, `${process.ppid}\n`);
    lock.release();
    expect(readFileSync(path, 'utf8').trim()).toBe(String(process.ppid));
  });
});
