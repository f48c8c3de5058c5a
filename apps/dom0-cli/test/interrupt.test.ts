import { afterEach, describe, expect, it } from 'vitest';
import { watchSignals, type InterruptSignal } from '../src/interrupt.ts';

let disposers: (() => void)[] = [];
afterEach(() => {
  for (const dispose of disposers) dispose();
  disposers = [];
});

function watched(): ReturnType<typeof watchSignals> {
  const w = watchSignals();
  disposers.push(() => w.dispose());
  return w;
}

describe('watchSignals', () => {
  it('hands the first signal to the signal listeners and every later one to the repeat listeners only', () => {
    const w = watched();
    const first: InterruptSignal[] = [];
    const again: InterruptSignal[] = [];
    w.onSignal((s) => first.push(s));
    w.onRepeat((s) => again.push(s));
    process.emit('SIGINT', 'SIGINT');
    expect([first, again]).toEqual([['SIGINT'], []]);
    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGTERM', 'SIGTERM');
    expect([first, again]).toEqual([['SIGINT'], ['SIGINT', 'SIGTERM']]);
    expect(w.signal).toBe('SIGINT');
  });

  it('stops calling a repeat listener once it unsubscribes, and all of them after dispose', () => {
    const w = watched();
    const kept: InterruptSignal[] = [];
    const dropped: InterruptSignal[] = [];
    w.onRepeat((s) => kept.push(s));
    const unsubscribe = w.onRepeat((s) => dropped.push(s));
    process.emit('SIGHUP', 'SIGHUP');
    unsubscribe();
    process.emit('SIGHUP', 'SIGHUP');
    expect([kept, dropped]).toEqual([['SIGHUP'], []]);
    w.dispose();
    expect(process.listenerCount('SIGHUP')).toBe(0);
  });
});
