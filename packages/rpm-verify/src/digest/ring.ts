/**
 * Layout of the shared ring that carries bytes from the verifier's thread to the digest worker.
 * Both sides are in this package; the worker code is plain data-in, digest-out and never
 * interprets the bytes it hashes.
 *
 * The control array holds two byte counters (wrapping int32: the used space is their difference,
 * which stays exact because the ring is far smaller than 2^31) and a failure flag. Records are
 * 16-byte aligned so a record header never straddles the end of the ring.
 */
export const RING_BYTES = 1024 * 1024;
/** Largest data record: big chunks are split so a record never needs more than a quarter of the ring. */
export const MAX_RECORD_DATA = RING_BYTES / 4;
export const RECORD_HEADER_BYTES = 16;
export const RECORD_ALIGN = 16;

/** Int32 slots of the control array. */
export const CONTROL_WRITTEN = 0;
export const CONTROL_READ = 1;
export const CONTROL_FAILED = 2;
export const CONTROL_SLOTS = 4;

/** Record kinds (first int32 of a record header). */
export const OP_BEGIN = 1;
export const OP_DATA = 2;
export const OP_END = 3;
export const OP_DROP = 4;
export const OP_STOP = 5;

/** No target in a record header's job slot. */
export const NO_JOB = -1;

/** The only algorithms the worker will create, by index (the BEGIN record carries the index). */
export const WORKER_ALGORITHMS = ['md5', 'sha256', 'sha384', 'sha512'] as const;
export type WorkerAlgorithm = (typeof WORKER_ALGORITHMS)[number];

export function recordBytes(dataLength: number): number {
  return RECORD_HEADER_BYTES + Math.ceil(dataLength / RECORD_ALIGN) * RECORD_ALIGN;
}
