import { spawn } from 'node:child_process';
import type { Stats } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { findExecutable } from '../config/executable-path.ts';
import { DYNAMIC_ID_COUNT, DYNAMIC_ID_FIRST, idsOfLiveProcesses } from '../config/stage-user.ts';
import { StageError } from '../errors.ts';
import { diagnose } from '../output/diagnostics.ts';
import type { StageOwner } from '../updates-dir/staging.ts';

/** How long processes of the stage's uid may take to die before the batch is refused. */
const REAP_DEADLINE_MS = 5_000;
const POLL_MS = 20;
/**
 * How long the killer may take. It runs as the stage's uid, so what it is sent to kill can stop or
 * kill it first; it is then killed itself, and root's own signals below do the work.
 */
const KILLER_DEADLINE_MS = 1_000;

/**
 * The killer's command: kill(1) where the system has it (procps and util-linux both take `-9 -1`),
 * else Node itself, which starts about ten times slower and is paid on every receive.
 */
export async function killerCommand(env: NodeJS.ProcessEnv): Promise<[string, string[]]> {
  const kill = await findExecutable('kill', env);
  return kill === undefined ? [process.execPath, ['-e', "process.kill(-1, 'SIGKILL')"]] : [kill, ['-9', '-1']];
}

/**
 * kill(-1, SIGKILL) as the stage's uid: every process of that uid but the caller gets it, in one
 * pass (a forking process cannot outrun it). Best effort: a killer that cannot start, or is
 * stopped or killed by what it came for, leaves the work to root's signals and the check below.
 * `deadlineMs` is for tests only: on a loaded machine the Node fallback can take longer than
 * KILLER_DEADLINE_MS just to start, and is then killed before it has done anything.
 */
export function killAllOf(owner: StageOwner, [command, args]: [string, string[]], deadlineMs = KILLER_DEADLINE_MS): Promise<void> {
  return new Promise((resolve) => {
    const killer = spawn(command, args, { uid: owner.uid, gid: owner.gid, stdio: 'ignore', env: {} });
    const stuck = setTimeout(() => killer.kill('SIGKILL'), deadlineMs);
    const done = (): void => {
      clearTimeout(stuck);
      resolve();
    };
    killer.on('error', done);
    killer.on('close', done);
  });
}

/**
 * SIGKILL from root to a process of the stage's uid, the moment the scan reads it: nothing of that
 * uid can block or stop it, and no await between the read and the kill leaves time for the pid to
 * be reused by another process. The dynamic uid is this run's alone.
 */
function killIfStages(owner: StageOwner): (pid: number, uids: ReadonlySet<number>) => void {
  return (pid, uids) => {
    if (!uids.has(owner.uid)) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  };
}

/**
 * After the stage exits and before anything staged is checked or published: no process of the
 * stage's dynamic uid may survive (a compromised stage could leave one holding a write handle to
 * a staged file). Kills them all and waits until /proc shows none; refuses the batch otherwise.
 * A `--user` override is shared with other software, so it is not swept.
 */
export async function reapStageUser(owner: StageOwner | undefined, whose = "the stage's uid"): Promise<void> {
  if (owner?.dynamic !== true) return;
  const deadline = performance.now() + REAP_DEADLINE_MS;
  const killer = await killerCommand(process.env);
  for (;;) {
    await killAllOf(owner, killer);
    const left = (await idsOfLiveProcesses(killIfStages(owner))).pidsByUid.get(owner.uid) ?? [];
    if (left.length === 0) return;
    if (performance.now() > deadline) {
      throw new StageError('STAGE_PROCESSES_REMAIN', `processes of ${whose} ${owner.uid} are still running (pids ${left.slice(0, 10).join(', ')})`);
    }
    await sleep(POLL_MS);
  }
}

/**
 * A staging dir left by a receiver killed with SIGKILL still belongs to that run's dynamic uid,
 * and a process its stage left behind may still run as it (nothing swept it): the next receive or
 * clean, as root and holding the lock, kills that uid's processes before the dir goes, and says
 * so on stderr. A uid outside the dynamic range (`--user`, not root) is not swept.
 */
export async function reapLeftoverStage(stagingDir: Stats): Promise<void> {
  const { uid, gid } = stagingDir;
  if (process.geteuid?.() !== 0 || uid !== gid || uid < DYNAMIC_ID_FIRST || uid >= DYNAMIC_ID_FIRST + DYNAMIC_ID_COUNT) return;
  const before = (await idsOfLiveProcesses()).pidsByUid.get(uid) ?? [];
  if (before.length === 0) return;
  await reapStageUser({ uid, gid, dynamic: true }, "an interrupted run's stage uid");
  diagnose(`killed ${String(before.length)} process(es) that an interrupted run's stage left running as uid ${String(uid)}`);
}
