import type { Writable } from 'node:stream';
import { StreamError } from './errors.ts';
import { memberNameProblem, type MemberName } from './names.ts';
import { decodeUstar, type DecodeLimits } from './tar/decoder.ts';
import { encodeUstar, type EncodeOptions, type EncodeSummary, type EncoderMember } from './tar/encoder.ts';

/** A member of the update stream: a flat `.rpm` name, its size, and its bytes as they arrive. */
export interface DecodedMember {
  readonly name: MemberName;
  readonly size: number;
  /** Must be read to its end before the next member is requested. */
  readonly body: AsyncIterable<Uint8Array>;
}

const GIB = 1024 ** 3;

/** Qubes' own caps (4096 files, 4 GiB) plus deadlines; dom0 may lower or raise them. */
export const DEFAULT_UPDATE_LIMITS: DecodeLimits = Object.freeze({
  maxMembers: 4096,
  maxMemberBytes: 2 * GIB,
  maxTotalBytes: 4 * GIB,
  idleTimeoutMs: 5 * 60 * 1000,
  overallTimeoutMs: 2 * 60 * 60 * 1000,
});

/**
 * dom0's strict decoder for the update stream (UpdateVM -> dom0). Yields members in order; throws
 * `StreamError` on the first deviation from the pinned subset. The stream is acceptable only if
 * the generator completes (end marker and end of input verified).
 */
export function decodeUpdateStream(
  source: AsyncIterable<Uint8Array>,
  limits: DecodeLimits,
  signal?: AbortSignal,
): AsyncGenerator<DecodedMember, void, undefined> {
  return decodeUstar<MemberName>(
    source,
    limits,
    (header) => {
      const problem = memberNameProblem(header.name);
      if (problem !== undefined) throw new StreamError('TAR_BAD_NAME', problem, header.name);
      return header.name as MemberName;
    },
    signal,
  );
}

/**
 * The agent's encoder: writes `files` (from disk by `path`, or from bytes) as the pinned ustar
 * subset to `out`, then the end marker, then ends `out` unless `options.end === false`.
 * Refuses names outside the member name rule with `EncodeError` code `ENCODE_BAD_NAME`.
 */
export function encodeUpdateStream(
  files: Iterable<EncoderMember> | AsyncIterable<EncoderMember>,
  out: Writable,
  options?: EncodeOptions,
): Promise<EncodeSummary> {
  return encodeUstar(files, out, memberNameProblem, options);
}
