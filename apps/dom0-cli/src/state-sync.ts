/**
 * Writes the state-sync stream to the agent's stdin with the protocol's encoder:
 * request.json first, then dom0's files under their state paths.
 */
import type { Writable } from 'node:stream';
import { encodeStateSync, type UpdateRequest } from '@dom0-updates/protocol';
import type { StateFile } from './state-files.ts';

export async function encodeState(request: UpdateRequest, files: readonly StateFile[], out: Writable): Promise<void> {
  await encodeStateSync(
    request,
    files.map((f) => ({ name: f.name, path: f.path })),
    out,
  );
}
