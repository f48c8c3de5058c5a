import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { idsOfLiveProcesses } from '../config/stage-user.ts';
import { StageError } from '../errors.ts';
import type { StageOwner } from '../updates-dir/staging.ts';

/** How long processes of the stage's uid may take to die before the batch is refused. */
const REAP_DEADLINE_MS = 5_000;
const POLL_MS = 20;

/** kill(-1, SIGKILL) as the stage's uid: every process of that uid but the caller gets it. */
function killAllOf(owner: StageOwner): Promise<void> {
  return new Promise((resolve, reject) => {
    const killer = spawn(process.execPath, ['-e', "process.kill(-1, 'SIGKILL')"], { uid: owner.uid, gid: owner.gid, stdio: 'ignore', env: {} });
    killer.on('error', reject);
    killer.on('close', (code, signal) => {
      // ESRCH (nothing left to signal) throws in the killer: that is success too
      if (code === 0 || code === 1 || signal === 'SIGKILL') resolve();
      else reject(new Error(`the killer exited with ${String(code)}`));
    });
  });
}

/**
 * After the stage exits and before anything staged is checked or published: no process of the
 * stage's dynamic uid may survive (a compromised stage could leave one holding a write handle to
 * a staged file). Kills them all and waits until /proc shows none; refuses the batch otherwise.
 * A `--user` override is shared with other software, so it is not swept.
 */
export async function reapStageUser(owner: StageOwner | undefined): Promise<void> {
  if (owner?.dynamic !== true) return;
  const deadline = performance.now() + REAP_DEADLINE_MS;
  for (;;) {
    try {
      await killAllOf(owner);
    } catch (error) {
      throw new StageError('STAGE_PROCESSES_REMAIN', `cannot kill the processes of the stage's uid ${owner.uid}: ${(error as Error).message}`);
    }
    const left = (await idsOfLiveProcesses()).pidsByUid.get(owner.uid) ?? [];
    if (left.length === 0) return;
    if (performance.now() > deadline) {
      throw new StageError('STAGE_PROCESSES_REMAIN', `processes of the stage's uid ${owner.uid} are still running (pids ${left.slice(0, 10).join(', ')})`);
    }
    await sleep(POLL_MS);
  }
}
