import { DigestWorker, type DigestOffload, type OffloadedDigest } from '@dom0-updates/rpm-verify';
import type { PhaseProfile } from '../output/profile.ts';

/**
 * Where the stage's work runs, per GiB measured here (user+sys CPU): the legacy MD5 (about 1.5 s)
 * on lane 0; the whole-file and payload SHA-256 (about 0.6 s each) on lane 1. The stage's own
 * thread reads the stream, parses, and copies each chunk once into the ring. Staged files are
 * written with O_DIRECT from the thread pool (direct-write.ts); where the file system refuses
 * O_DIRECT, lane 1 writes them through the page cache from the ring, which costs less CPU than
 * the thread pool's buffered writes of the same bytes (0.5 s against 1.2 s). A third lane was no
 * faster and cost another 7 MiB of peak RSS.
 */
const OFFLOADED: readonly OffloadedDigest[] = ['legacy-md5', 'file-sha256', 'payload-sha256'];
const LANES = { 'legacy-md5': 0, 'file-sha256': 1, 'payload-sha256': 1 } as const;
const LANE_COUNT = 2;
export const WRITE_LANE = 1;

export interface Offload {
  readonly digests: DigestOffload;
  /** how long starting the worker took this thread, for the profile line */
  readonly startMs: number;
}

/**
 * Starting the two lanes costs about 160 ms of CPU (two more V8 isolates), as much as hashing
 * some 60 MiB on the stage's own thread. A batch is hashed on that thread until the sizes its
 * members declare reach this, and the lanes start before the member that reaches it: a rejected
 * stream or a batch of small packages never pays for them; a large batch starts them at its first
 * large member instead of at the stage's start, which the benchmark does not show (bench/README.md).
 */
const LANES_FROM_BYTES = 8 * 1024 * 1024;

/**
 * One long-lived digest worker for the whole batch, started on demand. Where the runtime refuses
 * a worker (a stage started without `--allow-worker`) every digest is computed on the stage's
 * thread instead: slower, same checks.
 */
export class OnDemandOffload {
  readonly #fromBytes: number;
  #declared = 0;
  #tried = false;
  #offload: Offload | undefined;

  /** `fromBytes` 0 starts the lanes with the first member (a test hook's choice). */
  constructor(fromBytes = LANES_FROM_BYTES) {
    this.#fromBytes = fromBytes;
  }

  /** The offload for a member of `size` declared bytes, or undefined to hash it on this thread. */
  forMember(size: number): DigestOffload | undefined {
    this.#declared += size;
    if (!this.#tried && this.#declared >= this.#fromBytes) {
      this.#tried = true;
      this.#offload = startOffload();
    }
    return this.#offload?.digests;
  }

  /** Ends the worker, if it ran; the profile line shows `worker-start=` only then. */
  async stop(profile: PhaseProfile | undefined): Promise<void> {
    const offload = this.#offload;
    if (offload === undefined) return;
    // never masks the batch's own outcome: every digest the batch needed was already delivered
    await offload.digests.worker.stop().catch(() => undefined);
    profile?.add('worker-start', offload.startMs);
  }
}

function startOffload(): Offload | undefined {
  const started = performance.now();
  try {
    const digests = { worker: DigestWorker.start(LANE_COUNT), digests: OFFLOADED, lanes: LANES };
    return { digests, startMs: performance.now() - started };
  } catch {
    return undefined;
  }
}
