/** Process states read from /proc, for the tests that check which processes a run leaves behind. */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process's state letter from /proc, or "gone"; a killed child of a non-reaping init stays a zombie (Z). */
export function stateNow(pid: number): string {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? 'gone';
  } catch {
    return 'gone';
  }
}

/**
 * The state once a signalled process has had time to finish exiting: it closes its pipes (which
 * is what dom0-update waits for) before it becomes a zombie, so for a moment it still shows R.
 * One still alive after 10 s is returned as it is, and fails the assertion.
 */
export async function settledState(pid: number): Promise<string> {
  const end = Date.now() + 10_000;
  let state = stateNow(pid);
  while (!/^(gone|Z)$/.test(state) && Date.now() < end) {
    await sleep(20);
    state = stateNow(pid);
  }
  return state;
}

/** SIGKILLs the process whose pid a test's stray wrote to `pidFile`: a test's cleanup, so a file never written or a process already gone is no error. */
export function killPidFile(pidFile: string): void {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
  } catch {
    // never started, or gone already
  }
}
