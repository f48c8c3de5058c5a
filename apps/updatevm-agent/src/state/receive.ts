import type { Readable } from 'node:stream';
import { StateError } from '../errors.ts';
import type { StateFile } from '../installroot/layout.ts';
import type { DownloadRequest } from '../request.ts';

export interface ReceivedState {
  readonly request: DownloadRequest;
  readonly files: AsyncIterable<StateFile>;
}

/** Decodes dom0's state-sync stream with the protocol's strict decoder (request.json first). */
export function receiveState(stdin: Readable): Promise<ReceivedState> {
  stdin.resume();
  return Promise.reject(new StateError('STATE_DECODER_MISSING', 'the protocol package has no state-sync decoder yet'));
}
