/**
 * Whether a process with this pid exists: signal 0 checks without sending anything. EPERM means it
 * does, owned by someone else; only ESRCH says it is gone, so a leftover of a live run is never
 * taken for an orphan.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
