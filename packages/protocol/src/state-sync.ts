import type { Writable } from 'node:stream';
import { EncodeError, RequestError, StreamError } from './errors.ts';
import { STATE_REQUEST_PATH, classifyStatePath, type StateKind, type StatePath } from './names.ts';
import { MAX_REQUEST_BYTES, encodeRequest, parseRequest, type UpdateRequest } from './request.ts';
import { decodeUstar, type DecodeLimits } from './tar/decoder.ts';
import { encodeUstar, type EncodeOptions, type EncodeSummary, type EncoderMember } from './tar/encoder.ts';

/** The request, read and validated by the decoder; always the first entry. */
export interface StateRequestEntry {
  readonly kind: 'request';
  readonly path: typeof STATE_REQUEST_PATH;
  readonly request: UpdateRequest;
}

/** A state file to be written under the agent's installroot at `path`. */
export interface StateFileEntry {
  readonly kind: Exclude<StateKind, 'request'>;
  readonly path: StatePath;
  readonly size: number;
  /** Must be read to its end before the next entry is requested. */
  readonly body: AsyncIterable<Uint8Array>;
}

export type StateEntry = StateRequestEntry | StateFileEntry;

const MIB = 1024 * 1024;

export const DEFAULT_STATE_SYNC_LIMITS: DecodeLimits = Object.freeze({
  maxMembers: 1024,
  maxMemberBytes: 1024 * MIB,
  maxTotalBytes: 2048 * MIB,
  idleTimeoutMs: 5 * 60 * 1000,
  overallTimeoutMs: 30 * 60 * 1000,
});

/**
 * The UpdateVM's strict decoder for the state-sync stream (dom0 -> UpdateVM). The first entry is
 * always the parsed request; then files under the allow-listed paths. Same header strictness as
 * the update stream. The state is complete only if the generator completes.
 */
export async function* decodeStateSync(
  source: AsyncIterable<Uint8Array>,
  limits: DecodeLimits,
  signal?: AbortSignal,
): AsyncGenerator<StateEntry, void, undefined> {
  const members = decodeUstar<StatePath>(
    source,
    limits,
    (header, index) => {
      const classified = classifyStatePath(header.name);
      if ('problem' in classified) throw new StreamError('TAR_BAD_NAME', classified.problem, header.name);
      if (index === 0 && classified.kind !== 'request') {
        throw new StreamError('STATE_MISSING_REQUEST', `the first member must be ${STATE_REQUEST_PATH}`, header.name);
      }
      if (classified.kind === 'request' && header.size > MAX_REQUEST_BYTES) {
        throw new StreamError('TAR_MEMBER_TOO_LARGE', `${STATE_REQUEST_PATH} is larger than ${MAX_REQUEST_BYTES} bytes`, header.name);
      }
      return classified.path;
    },
    signal,
  );
  let sawRequest = false;
  for await (const member of members) {
    const classified = classifyStatePath(member.name);
    if ('problem' in classified) throw new StreamError('TAR_BAD_NAME', classified.problem, member.name);
    if (classified.kind === 'request') {
      sawRequest = true;
      yield { kind: 'request', path: STATE_REQUEST_PATH, request: await readRequest(member.body, member.size) };
    } else {
      yield { kind: classified.kind, path: classified.path, size: member.size, body: member.body };
    }
  }
  if (!sawRequest) throw new StreamError('STATE_MISSING_REQUEST', `the stream has no ${STATE_REQUEST_PATH}`);
}

async function readRequest(body: AsyncIterable<Uint8Array>, size: number): Promise<UpdateRequest> {
  // Bounded by the rule above: size <= MAX_REQUEST_BYTES.
  const bytes = new Uint8Array(size);
  let at = 0;
  for await (const piece of body) {
    bytes.set(piece, at);
    at += piece.length;
  }
  try {
    return parseRequest(bytes);
  } catch (error) {
    if (error instanceof RequestError) {
      throw new StreamError('STATE_BAD_REQUEST', error.issues.join('; '), STATE_REQUEST_PATH, { cause: error });
    }
    throw error;
  }
}

function statePathProblem(name: string): string | undefined {
  const classified = classifyStatePath(name);
  if ('problem' in classified) return classified.problem;
  return classified.kind === 'request' ? `${STATE_REQUEST_PATH} is written from the request argument` : undefined;
}

/**
 * dom0's encoder for the state-sync stream: `request.json` first (from `request`, validated), then
 * `files` (each `name` is the state path, e.g. `rpmdb/rpmdb.sqlite`; bytes from `path` on disk or
 * from `body`). Throws `EncodeError` for a path outside the allow-list.
 */
export async function encodeStateSync(
  request: UpdateRequest,
  files: Iterable<EncoderMember> | AsyncIterable<EncoderMember>,
  out: Writable,
  options?: EncodeOptions,
): Promise<EncodeSummary> {
  let requestBytes: Uint8Array;
  try {
    requestBytes = encodeRequest(request);
  } catch (error) {
    if (error instanceof RequestError) {
      throw new EncodeError('ENCODE_BAD_REQUEST', error.issues.join('; '), STATE_REQUEST_PATH, { cause: error });
    }
    throw error;
  }
  if (Array.isArray(files)) {
    // Check every path before the first byte goes out.
    for (const file of files as readonly EncoderMember[]) {
      const problem = statePathProblem(file.name);
      if (problem !== undefined) throw new EncodeError('ENCODE_BAD_NAME', problem, file.name);
    }
  }
  async function* all(): AsyncGenerator<EncoderMember> {
    yield { name: STATE_REQUEST_PATH, size: requestBytes.length, body: [requestBytes] };
    yield* files;
  }
  let first = true;
  const rule = (name: string): string | undefined => {
    // Only the member this function generates may be request.json.
    const problem = first && name === STATE_REQUEST_PATH ? undefined : statePathProblem(name);
    first = false;
    return problem;
  };
  return encodeUstar(all(), out, rule, options);
}
