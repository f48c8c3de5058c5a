import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRunTempDir, removeDeadRunsTempDirs } from '../src/run-temp-dirs.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** This process's pid namespace, as the directory names carry it. */
const NS = /\d+/.exec(readlinkSync('/proc/self/ns/pid'))?.[0] ?? '0';

/** A pid no process has: one that just exited (reused only after the kernel wraps around). */
function deadPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$']);
  return Number(child.stdout.toString().trim());
}

describe("dom0-update's directories in TMPDIR", () => {
  it('names each after the run that made it, private to it', () => {
    const dir = makeRunTempDir('home');
    dirs.push(dir);
    expect(basename(dir)).toMatch(new RegExp(`^dom0-update-home\\.${NS}-${String(process.pid)}\\.[A-Za-z0-9]{6}$`));
  });

  it('removes what a killed run left, and keeps a live run\'s, other names and what is not a directory', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'dom0-cli-tempdirs-'));
    dirs.push(tmp);
    const dead = deadPid();
    const left = join(tmp, `dom0-update-repos.${NS}-${String(dead)}.abc123`);
    mkdirSync(join(left, 'nested'), { recursive: true });
    writeFileSync(join(left, 'nested', 'dom0-updates-cached.repo'), '');
    const live = join(tmp, `dom0-update-home.${NS}-${String(process.pid)}.abc123`);
    const parent = join(tmp, `dom0-update-keycheck.${NS}-${String(process.ppid)}.abc123`);
    const other = join(tmp, `dom0-update-snapshot.${NS}-${String(dead)}.abc123`);
    // a pid of another pid namespace (a container sharing /tmp) says nothing about a process here
    const elsewhere = join(tmp, `dom0-update-home.1${NS}-${String(dead)}.abc123`);
    // the form without a namespace is no run's of this version
    const bare = join(tmp, `dom0-update-home.${String(dead)}.abc123`);
    for (const d of [live, parent, other, elsewhere, bare]) mkdirSync(d);
    // a link of that name is no directory of a run: neither it nor what it names is removed
    const target = join(tmp, 'target');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), '');
    const link = join(tmp, `dom0-update-home.${NS}-${String(dead)}.lnk123`);
    symlinkSync(target, link);
    removeDeadRunsTempDirs(tmp);
    expect(existsSync(left)).toBe(false);
    for (const d of [live, parent, other, elsewhere, bare, link, join(target, 'keep')]) expect(existsSync(d), d).toBe(true);
  });

  it('does nothing for a TMPDIR it cannot list', () => {
    expect(() => removeDeadRunsTempDirs('/nonexistent/dom0-cli-tempdirs')).not.toThrow();
  });
});
