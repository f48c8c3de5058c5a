/**
 * Layout of the shared ring that carries bytes from the verifier's thread to the digest worker's
 * threads ("lanes"). Both sides are in this package; the worker code is plain data-in, digest-out
 * and never interprets the bytes it hashes.
 *
 * Every lane reads every record (one copy serves them all) and acts only on the jobs it owns; a
 * record's space is free once the slowest lane has passed it. The control array holds the writer's
 * byte counter, one read counter per lane (wrapping int32: the used space is their difference,
 * which stays exact because the ring is far smaller than 2^31) and a failure flag. Records are
 * aligned to the header size, so a record header never straddles the end of the ring.
 */
export const RING_BYTES = 1024 * 1024;
/** Largest data record: big chunks are split so a record never needs more than a quarter of the ring. */
export const MAX_RECORD_DATA = RING_BYTES / 4;
export const RECORD_HEADER_BYTES = 32;
export const RECORD_ALIGN = 32;

/** Int32 slots of the control array: the writer's counter, the failure flag, then one read counter per lane. */
export const CONTROL_WRITTEN = 0;
export const CONTROL_FAILED = 1;
export const CONTROL_READ = 2;
export const MAX_LANES = 4;
export const CONTROL_SLOTS = CONTROL_READ + MAX_LANES;

/** Record kinds (first int32 of a record header). */
export const OP_BEGIN = 1;
export const OP_DATA = 2;
export const OP_END = 3;
export const OP_DROP = 4;
export const OP_STOP = 5;
/** Begins a job that writes its bytes to a descriptor the caller opened (the value word holds the fd). */
export const OP_BEGIN_WRITE = 6;

/**
 * Int32 words of a record header: kind, then the data length (DATA), algorithm index (BEGIN) or
 * descriptor (BEGIN_WRITE), then the lane that owns a new job (BEGIN, BEGIN_WRITE), then up to
 * four job numbers (NO_JOB where unused), then the writer's counter at the record's start: a lane
 * that finds another value there is out of step with the writer and fails rather than take data
 * bytes for a header.
 */
export const WORD_OP = 0;
export const WORD_VALUE = 1;
export const WORD_LANE = 2;
export const WORD_JOBS = 3;
export const MAX_JOBS_PER_RECORD = 4;
export const WORD_POSITION = 7;

/** No target in a record header's job slot. */
export const NO_JOB = -1;

/** The only algorithms the worker will create, by index (the BEGIN record carries the index). */
export const WORKER_ALGORITHMS = ['md5', 'sha256', 'sha384', 'sha512'] as const;
export type WorkerAlgorithm = (typeof WORKER_ALGORITHMS)[number];

export function recordBytes(dataLength: number): number {
  return RECORD_HEADER_BYTES + Math.ceil(dataLength / RECORD_ALIGN) * RECORD_ALIGN;
}
