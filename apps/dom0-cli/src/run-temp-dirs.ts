/**
 * dom0-update's own directories in TMPDIR (dnf's HOME and reposdir, rpm's scratch key database)
 * carry the pid of the run that made them, so a later run removes what a killed run left (kill -9
 * runs no cleanup) without touching a live run's: TMPDIR may be shared with runs of another
 * configuration, which hold another lock.
 */
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type RunTempDirKind = 'home' | 'repos' | 'keycheck';

const NAME = /^dom0-update-(?:home|repos|keycheck)\.([1-9][0-9]{0,9})\.[A-Za-z0-9]{6}$/;

/** A fresh 0700 directory in TMPDIR named after this run; the caller removes it. */
export function makeRunTempDir(kind: RunTempDirKind): string {
  return mkdtempSync(join(tmpdir(), `dom0-update-${kind}.${String(process.pid)}.`));
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
  for (const name of names) {
    const pid = NAME.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isAlive(Number(pid))) continue;
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
