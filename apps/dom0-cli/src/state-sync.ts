/**
 * Writes the state-sync stream (request.json first, then dom0's files) to the agent's stdin.
 * Interim ustar writer with tar-stream until the protocol's encodeStateSync lands.
 */
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { StateRequest } from './request.ts';
import type { StateFile } from './state-files.ts';

export async function encodeState(request: StateRequest, files: readonly StateFile[], out: Writable): Promise<void> {
  const pack = tar.pack();
  const piping = pipeline(pack, out);
  const add = (name: string, body: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      pack.entry({ name, size: body.length, mode: 0o644, mtime: new Date(0) }, body, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  await add('request.json', Buffer.from(`${JSON.stringify(request)}\n`));
  for (const file of files) await add(file.name, await readFile(file.path));
  pack.finalize();
  await piping;
}
