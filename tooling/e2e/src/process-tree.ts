// Processes as Linux's /proc shows them: who started whom, when each started (so a reused pid is
// never taken for the process it replaced), and stopping a set of them for good.
import { readdir, readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process as /proc names it: pid plus start time (clock ticks after boot), unique per boot. */
export interface ProcessId {
  readonly pid: number;
  readonly start: string;
}

interface ProcStat {
  readonly ppid: number;
  readonly start: string;
}

async function procStat(pid: number): Promise<ProcStat | 'gone' | 'unknown'> {
  let text: string;
  try {
    text = await readFile(`/proc/${String(pid)}/stat`, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'unknown';
  }
  // The command name (field 2) may hold spaces and ')': the fixed fields follow the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // A zombie has ended; only its parent's wait() is missing, and no signal changes that.
  if (fields[0] === 'Z') return 'gone';
  const ppid = Number(fields[1]);
  const start = fields[19];
  if (!Number.isSafeInteger(ppid) || start === undefined || !/^\d+$/.test(start)) return 'unknown';
  return { ppid, start };
}

/** A running process's identity; undefined if it is gone or there is no /proc. */
export async function processId(pid: number): Promise<ProcessId | undefined> {
  const s = await procStat(pid);
  return typeof s === 'object' ? { pid, start: s.start } : undefined;
}

/** This process's identity; undefined where there is no /proc. */
export function selfId(): Promise<ProcessId | undefined> {
  return processId(process.pid);
}

/**
 * 'gone' only when /proc proves it: no such pid, or the pid now belongs to a process that started
 * at another time. Anything unreadable is 'unknown', never 'gone'.
 */
export async function liveness(id: ProcessId): Promise<'alive' | 'gone' | 'unknown'> {
  const now = await procStat(id.pid);
  if (now === 'gone' || now === 'unknown') return now;
  return now.start === id.start ? 'alive' : 'gone';
}

async function allPids(): Promise<number[]> {
  return (await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Every process below `root` (children, their children, ...), as of now. */
export async function descendantsOf(root: number): Promise<ProcessId[]> {
  const children = new Map<number, ProcessId[]>();
  for (const pid of await allPids()) {
    const s = await procStat(pid);
    if (typeof s !== 'object') continue;
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), { pid, start: s.start }]);
  }
  const out: ProcessId[] = [];
  const queue = [root];
  for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
    for (const child of children.get(p) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Processes whose network namespace is the one bound at `nsPath` (as `ip netns pids` finds them). */
export async function processesInNetns(nsPath: string): Promise<ProcessId[]> {
  let ns;
  try {
    ns = await stat(nsPath);
  } catch {
    return [];
  }
  const out: ProcessId[] = [];
  for (const pid of await allPids()) {
    try {
      const net = await stat(`/proc/${String(pid)}/ns/net`);
      if (net.dev !== ns.dev || net.ino !== ns.ino) continue;
    } catch {
      continue;
    }
    const s = await procStat(pid);
    if (typeof s === 'object') out.push({ pid, start: s.start });
  }
  return out;
}

const GRACE_MS = 3000;
const GIVE_UP_MS = 8000;
const POLL_MS = 100;

/**
 * Stops every process `find` returns, asking again until it returns none: SIGTERM first, SIGKILL
 * after a grace period. Asking again catches what a dying process started meanwhile. Returns how
 * many distinct processes were signalled.
 */
export async function stopAll(find: () => Promise<ProcessId[]>): Promise<number> {
  const signalled = new Set<string>();
  const began = Date.now();
  for (;;) {
    const found = (await find()).filter((p) => p.pid !== process.pid);
    if (found.length === 0) return signalled.size;
    const elapsed = Date.now() - began;
    if (elapsed > GIVE_UP_MS) return signalled.size;
    for (const p of found) {
      const key = `${String(p.pid)}:${p.start}`;
      // Signal only a process that is still the one found (not a pid reused since).
      if ((await liveness(p)) !== 'alive') continue;
      if (signalled.has(key) && elapsed < GRACE_MS) continue;
      try {
        process.kill(p.pid, elapsed < GRACE_MS ? 'SIGTERM' : 'SIGKILL');
        signalled.add(key);
      } catch {
        // exited meanwhile
      }
    }
    await sleep(POLL_MS);
  }
}
