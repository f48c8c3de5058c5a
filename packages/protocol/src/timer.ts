/** setTimeout treats longer delays as 1 ms; longer waits are re-armed in steps. */
const MAX_TIMER_MS = 0x7fffffff;

/**
 * Calls `onExpiry` once `ms` have passed on the monotonic clock (a wall-clock step moves no
 * deadline), however long that is. Returns the function that cancels it.
 */
export function afterDelay(ms: number, onExpiry: () => void): () => void {
  const end = performance.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    const left = end - performance.now();
    if (left <= 0) onExpiry();
    else timer = setTimeout(arm, Math.min(Math.ceil(left), MAX_TIMER_MS));
  };
  arm();
  return () => clearTimeout(timer);
}
