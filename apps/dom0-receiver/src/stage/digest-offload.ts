import { DigestWorker, type DigestOffload, type OffloadedDigest } from '@dom0-updates/rpm-verify';
import type { PhaseProfile } from '../output/profile.ts';

/**
 * Which digests the stage hands to the worker thread: the legacy MD5 alone (about 1.3 s per
 * GiB here) balances the stage's own thread, which keeps the payload and whole-file SHA-256
 * (about 0.55 s each) and the parsing. Moving the file SHA-256 too left this thread idle
 * while the worker caught up (measured: no faster, higher peak RSS).
 */
const OFFLOADED: readonly OffloadedDigest[] = ['legacy-md5'];

export interface Offload {
  readonly digests: DigestOffload;
  /** how long starting the worker took this thread, for the profile line */
  readonly startMs: number;
}

/**
 * One long-lived digest worker for the whole batch. Where the runtime refuses a worker (a stage
 * started without `--allow-worker`) every digest is computed on the stage's thread instead:
 * slower, same checks.
 */
export function startOffload(): Offload | undefined {
  const started = performance.now();
  try {
    const digests = { worker: DigestWorker.start(), digests: OFFLOADED };
    return { digests, startMs: performance.now() - started };
  } catch {
    return undefined;
  }
}

/** Ends the worker; the profile line shows `worker-start=` only when it ran. */
export async function stopOffload(offload: Offload | undefined, profile: PhaseProfile | undefined): Promise<void> {
  if (offload === undefined) return;
  // never masks the batch's own outcome: every digest the batch needed was already delivered
  await offload.digests.worker.stop().catch(() => undefined);
  profile?.add('worker-start', offload.startMs);
}
