import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ConfigError } from '../errors.ts';
import type { StageOwner } from '../updates-dir/staging.ts';

/**
 * Dynamic stage ids come from this range (like systemd's DynamicUser, far above any real
 * account): a fresh uid/gid per run that no passwd/group entry names and no process holds.
 */
export const DYNAMIC_ID_FIRST = 2_147_000_000;
export const DYNAMIC_ID_COUNT = 400_000;
const PICK_ATTEMPTS = 64;
/** /proc entries read between two turns of the event loop while scanning. */
const SCAN_SLICE = 256;

function idsInColumn(table: string, column: number): Set<number> {
  const ids = new Set<number>();
  for (const line of table.split('\n')) {
    const id = Number(line.split(':')[column]);
    if (Number.isSafeInteger(id)) ids.add(id);
  }
  return ids;
}

/** A status (of a process or of one of its threads) in state Z or X: it runs no more. */
const ENDED = /^State:\s+[ZX]/m;

/** A /proc read that failed because the process (or thread) is gone; any other failure (EMFILE) proves nothing. */
function gone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

/**
 * Whether a process in state Z still runs threads: a leader that left with exit() instead of
 * exit_group() shows as a zombie while the rest of its thread group goes on.
 */
function zombieWithLiveThreads(pid: string): boolean {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch (error) {
    return !gone(error);
  }
  return tasks.some((task) => {
    try {
      return !ENDED.test(readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8'));
    } catch (error) {
      return !gone(error);
    }
  });
}

/**
 * Whether a process /proc still lists has ended: a zombie (or dead) whose threads all ended too.
 * A zombie has closed every file; it only waits for its parent to collect the status.
 */
export function processEnded(pid: string, status?: string): boolean {
  let text = status;
  if (text === undefined) {
    try {
      text = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch (error) {
      return gone(error);
    }
  }
  return ENDED.test(text) && !zombieWithLiveThreads(pid);
}

/**
 * Every uid and gid (real, effective, saved, fs) that some process holds, true zombies excluded.
 * `onLive` sees each live process as soon as its status is read, with no await in between (a
 * caller that signals it acts on a pid that cannot have been reused meanwhile).
 */
export async function idsOfLiveProcesses(
  onLive?: (pid: number, uids: ReadonlySet<number>) => void,
): Promise<{ uids: Set<number>; gids: Set<number>; pidsByUid: Map<number, number[]> }> {
  const uids = new Set<number>();
  const gids = new Set<number>();
  const pidsByUid = new Map<number, number[]>();
  const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
  for (const [i, entry] of pids.entries()) {
    // a synchronous read is an order of magnitude faster than fs/promises on /proc (thousands of
    // processes took seconds); a turn of the event loop every slice keeps timers and signals served
    if (i > 0 && i % SCAN_SLICE === 0) await nextTurn();
    let status: string;
    try {
      status = readFileSync(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    if (processEnded(entry, status)) continue;
    const field = (name: string): number[] => (new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '').split(/\s+/).map(Number).filter(Number.isSafeInteger);
    // real, effective, saved and fs uid: once per distinct uid
    const held = new Set(field('Uid'));
    onLive?.(Number(entry), held);
    for (const uid of held) {
      uids.add(uid);
      pidsByUid.set(uid, [...(pidsByUid.get(uid) ?? []), Number(entry)]);
    }
    for (const gid of field('Gid')) gids.add(gid);
  }
  return { uids, gids, pidsByUid };
}

async function pickDynamicOwner(): Promise<StageOwner> {
  const users = idsInColumn(await readFile('/etc/passwd', 'utf8'), 2);
  const groups = idsInColumn(await readFile('/etc/group', 'utf8'), 2);
  const live = await idsOfLiveProcesses();
  for (let i = 0; i < PICK_ATTEMPTS; i++) {
    const id = DYNAMIC_ID_FIRST + randomInt(DYNAMIC_ID_COUNT);
    if (users.has(id) || groups.has(id) || live.uids.has(id) || live.gids.has(id)) continue;
    return { uid: id, gid: id, dynamic: true };
  }
  throw new ConfigError('CONFIG_INVALID', `no unused uid found in ${DYNAMIC_ID_FIRST}..${DYNAMIC_ID_FIRST + DYNAMIC_ID_COUNT - 1}`);
}

/**
 * The identity the stage drops to when the receiver runs as root: by default a fresh dynamic
 * uid/gid used by nothing else (so every process of it is the stage's and can be killed), or the
 * `--user` named in /etc/passwd, which dom0 controls. Undefined when not root.
 */
export async function resolveStageUser(requested: string | undefined): Promise<StageOwner | undefined> {
  // the effective uid is what grants root's powers (a setuid or setreuid launcher may leave the real one non-zero)
  if (process.geteuid?.() !== 0) return undefined;
  if (requested === undefined) return pickDynamicOwner();
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user !== requested || uid === undefined || gid === undefined) continue;
    const owner = { uid: Number(uid), gid: Number(gid), dynamic: false };
    if (!Number.isSafeInteger(owner.uid) || !Number.isSafeInteger(owner.gid) || owner.uid === 0 || owner.gid === 0) {
      throw new ConfigError('CONFIG_INVALID', `stage user ${requested} must have a non-zero uid and gid`);
    }
    return owner;
  }
  throw new ConfigError('CONFIG_INVALID', `stage user ${requested} does not exist`);
}
