import type { Readable } from 'node:stream';
import { decodeStateSync, DEFAULT_STATE_SYNC_LIMITS, StreamError, type StateEntry, type UpdateRequest } from '@dom0-updates/protocol';
import { StateError } from '../errors.ts';
import type { StateFile } from '../installroot/layout.ts';
import { buildRequest, type DownloadRequest } from '../request.ts';

export interface ReceivedState {
  readonly request: DownloadRequest;
  /** The state files in stream order; each body must be read before the next file is taken. */
  readonly files: AsyncIterable<StateFile>;
}

function asStateError(error: unknown): unknown {
  if (error instanceof StreamError) {
    return new StateError(error.code, `dom0's state stream was refused: ${error.message}`);
  }
  return error;
}

/**
 * A file's body with the decoder's refusals as StateErrors: the body is read where the file is
 * written, so a stream cut inside it (TAR_TRUNCATED) surfaces there, outside `files()`.
 */
async function* refusedAsStateError(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    throw asStateError(error);
  }
}

/** dom0's request.json, already schema-checked by the protocol, through this agent's own rules. */
function requestFromProtocol(request: UpdateRequest): DownloadRequest {
  return buildRequest({
    action: request.action,
    packages: request.packages,
    enableRepos: request.enableRepos,
    disableRepos: request.disableRepos,
    clean: request.clean,
    dnfOptions: request.dnfOptions,
  });
}

/** Decodes dom0's state-sync stream with the protocol's strict decoder: request.json first, then files. */
export async function receiveState(stdin: Readable, signal?: AbortSignal): Promise<ReceivedState> {
  const entries: AsyncGenerator<StateEntry, void, undefined> = decodeStateSync(stdin, DEFAULT_STATE_SYNC_LIMITS, signal);
  let first: IteratorResult<StateEntry, void>;
  try {
    first = await entries.next();
  } catch (error) {
    throw asStateError(error);
  }
  if (first.done === true || first.value.kind !== 'request') {
    throw new StateError('STATE_MISSING_REQUEST', "dom0's state stream has no request.json");
  }
  const request = requestFromProtocol(first.value.request);
  async function* files(): AsyncGenerator<StateFile> {
    try {
      for (;;) {
        const next = await entries.next();
        if (next.done === true) return;
        const entry = next.value;
        if (entry.kind === 'request') throw new StateError('STATE_DUPLICATE_REQUEST', 'request.json appears twice');
        yield { kind: entry.kind, path: entry.path, body: refusedAsStateError(entry.body) };
      }
    } catch (error) {
      throw asStateError(error);
    }
  }
  return { request, files: files() };
}
