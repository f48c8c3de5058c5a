/**
 * The agent and the receiver each run in a process group of their own (spawned detached), so a
 * signal ends everything they started, not just the direct child.
 */
import type { ChildProcess } from 'node:child_process';

/** Signals the whole group led by `child`; a group that is already gone is not an error. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

/**
 * Stops waiting on the child's pipes: a process that left the group may still hold one open, in
 * either direction (one that holds the child's stdin and never reads would block a write forever).
 */
export function dropPipes(child: ChildProcess): void {
  child.stdin?.destroy();
  child.stdout?.destroy();
  child.stderr?.destroy();
}
