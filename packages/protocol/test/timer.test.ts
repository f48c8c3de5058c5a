/** The timers the deadlines run on. */
import { describe, expect, it, vi } from 'vitest';
import { afterDelay } from '../src/index.ts';

describe('timers', () => {
  it('arms no timer longer than setTimeout can express (it would fire after 1 ms)', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    let fired = false;
    const cancel = afterDelay(2 ** 40, () => (fired = true));
    try {
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]?.[1]).toBe(0x7fffffff);
      expect(fired).toBe(false);
    } finally {
      cancel();
      spy.mockRestore();
    }
  });
});

describe('timer cancel', () => {
  it('cancels a pending timer so it never fires and holds no event-loop reference', async () => {
    let fired = false;
    const cancel = afterDelay(20, () => (fired = true));
    cancel();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(fired).toBe(false);
  });
});
