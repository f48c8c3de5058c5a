/**
 * dom0-update's own directories in TMPDIR (dnf's HOME and reposdir, rpm's scratch key database)
 * carry the pid of the run that made them and its pid namespace, so a later run removes what a
 * killed run left (kill -9 runs no cleanup) without touching a live run's: TMPDIR may be shared
 * with runs of another configuration, which hold another lock, or of another pid namespace (a
 * container sharing /tmp), whose pids mean nothing here and whose directories are left alone.
 */
import { lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './errors.ts';

export type RunTempDirKind = 'home' | 'repos' | 'keycheck';

const NAME = /^dom0-update-(?:home|repos|keycheck)\.([0-9]{1,20})-([1-9][0-9]{0,9})\.[A-Za-z0-9]{6}$/;

/** The inode number of this process's pid namespace (`pid:[4026531836]`), or 0 where there is none to read. */
function pidNamespace(): string {
  try {
    return /^pid:\[(\d{1,20})\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}

/** A fresh 0700 directory in TMPDIR named after this run; the caller removes it. */
export function makeRunTempDir(kind: RunTempDirKind): string {
  return mkdtempSync(join(tmpdir(), `dom0-update-${kind}.${pidNamespace()}-${String(process.pid)}.`));
}

/**
 * A fresh run directory holding one file. TMPDIR was checked before the run, but it can fill up
 * meanwhile: that is said as TMPDIR's fault (not an internal error), and nothing is left behind.
 */
export function writeRunTempFile(kind: RunTempDirKind, name: string, content: string): string {
  let dir: string | undefined;
  try {
    dir = makeRunTempDir(kind);
    writeFileSync(join(dir, name), content, { mode: 0o644 });
    return dir;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // a failed system call is TMPDIR's fault; anything else is ours and is not dressed up as one
    if (typeof code !== 'string') throw error;
    if (dir !== undefined) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // the reason below is what matters; a later run removes what is left (removeDeadRunsTempDirs)
      }
    }
    const full = code === 'ENOSPC' || code === 'EDQUOT' ? 'it is full' : 'a write there failed';
    throw new ConfigError('CONFIG_TMPDIR_UNUSABLE', `the temporary directory ${tmpdir()} (TMPDIR) cannot be used: ${full} (${code}); dom0's dnf needs it to install (the verified packages stay in dom0's cached repository)`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: a live process of another user
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes the directories of runs whose process is gone; only directories of this user. */
export function removeDeadRunsTempDirs(dir: string = tmpdir()): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  const namespace = pidNamespace();
  for (const name of names) {
    const [, ns, pid] = NAME.exec(name) ?? [];
    if (ns !== namespace || pid === undefined || Number(pid) === process.pid || isAlive(Number(pid))) continue;
    const path = join(dir, name);
    try {
      const stat = lstatSync(path);
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) continue;
      rmSync(path, { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove: a later run tries again
    }
  }
}
