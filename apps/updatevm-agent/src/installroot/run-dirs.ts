import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processExists } from './process-exists.ts';

/**
 * Each run's download directory is named after the agent process that owns it: its pid namespace,
 * pid and start time (`run-NS-PID-START-XXXXXX`), so a later run can tell a directory left by a
 * killed agent (SIGKILL: no `finally` ran) from one a concurrent run still downloads into. The
 * name is set by the mkdtemp that creates the directory, so no directory is ever without an owner.
 * (dom0-cli's run-temp-dirs.ts does the same for its TMPDIR directories; apps share no code.)
 */
const OWNED_RUN_DIR = /^run-(\d{1,20})-(\d{1,10})-(\d{1,20})-[A-Za-z0-9]{6}$/;

/** The inode number of this process's pid namespace (`pid:[4026531836]`); undefined where it cannot be read. */
async function pidNamespace(): Promise<string | undefined> {
  const link = await readlink('/proc/self/ns/pid').catch(() => '');
  return /^pid:\[(\d{1,20})\]$/.exec(link)?.[1];
}

/**
 * Whether the /proc mounted here is this process's own pid namespace's: from another one, its
 * pid numbers are other processes', and no owner could be told alive or gone by them.
 */
async function procIsOurs(): Promise<boolean> {
  return (await readlink('/proc/self').catch(() => '')) === String(process.pid);
}

/** A process's start time in clock ticks since boot (/proc/PID/stat, field 22); undefined when it cannot be read. */
async function startTimeOf(pid: number | 'self'): Promise<string | undefined> {
  const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // field 2, the command name, may hold spaces and ')': fields 3 on follow the last ')'
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** Creates this run's fresh download directory under `runs`, named after this process. */
export async function makeRunDir(runs: string): Promise<string> {
  const [namespace, start] = (await procIsOurs()) ? [await pidNamespace(), await startTimeOf('self')] : [undefined, undefined];
  // without /proc the owner cannot be checked later: an unowned name is never swept, only --clean removes it
  return mkdtemp(join(runs, namespace === undefined || start === undefined ? 'run-' : `run-${namespace}-${String(process.pid)}-${start}-`));
}

/**
 * Whether the agent that created a directory named for (pid, start) is gone: no process has that
 * pid, or the one that has it started at another time (the pid was reused). Anything that cannot
 * be decided (a process hidden by hidepid, /proc unreadable) counts as alive.
 */
async function ownerGone(pid: number, start: string): Promise<boolean> {
  if (!processExists(pid)) return true;
  const now = await startTimeOf(pid);
  return now !== undefined && now !== start;
}

export interface SweepResult {
  readonly removed: readonly string[];
  readonly failed: readonly { readonly name: string; readonly code: string }[];
}

/**
 * Removes the download directories under `runs` whose agent is gone. Only real directories with an
 * owned name are considered (a symlink is never followed, nor is one inside removed through), and
 * never one of a live agent. Best effort: a directory that cannot be removed is reported, not fatal.
 */
export async function sweepOrphanedRunDirs(runs: string): Promise<SweepResult> {
  const removed: string[] = [];
  const failed: { name: string; code: string }[] = [];
  if (!(await procIsOurs())) return { removed, failed };
  const namespace = await pidNamespace();
  const entries = await readdir(runs, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const [, ns, pid, start] = OWNED_RUN_DIR.exec(entry.name) ?? [];
    // another pid namespace's pids (a container sharing the workdir) mean nothing here
    if (ns === undefined || ns !== namespace || pid === undefined || start === undefined || !entry.isDirectory()) continue;
    if (!(await ownerGone(Number(pid), start))) continue;
    try {
      // rm removes symlinks inside the tree as links, never what they point to
      await rm(join(runs, entry.name), { recursive: true, force: true });
      removed.push(entry.name);
    } catch (error) {
      failed.push({ name: entry.name, code: (error as NodeJS.ErrnoException).code ?? 'unknown error' });
    }
  }
  return { removed, failed };
}
