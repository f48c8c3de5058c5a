import { setFlagsFromString } from 'node:v8';

/**
 * Asks V8 to favour memory over speed in the receiver (the stage gets the same flag on its
 * command line). Without it the old generation of a batch of 4096 small packages grew until V8's
 * heuristics collected it: measured, stage 107 MiB and receiver 95-115 MiB peak RSS, against
 * stage 89-91 and receiver 85-91 MiB with it; a 1 GiB batch of 40 packages is unchanged
 * (bench/README.md, round 18). `node dom0-receiver.mjs` is the pinned command line, so the flag
 * is set here, at start, rather than there; it only changes when and how much V8 collects.
 */
export function favourMemoryOverSpeed(): void {
  setFlagsFromString('--optimize-for-size');
}
