import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STATE_SYNC_LIMITS, decodeStateSync, encodeReply, parseReply } from '../src/index.ts';
import { chunks, collect, decodeAll } from './helpers.ts';
import { GNU_VECTOR, HOSTILE_VECTORS, REPLY_VECTORS, STATE_VECTOR, UPDATE_VECTORS } from './vectors/definitions.ts';
import { encodeStateVector, encodeUpdateVector } from './vectors/encode.ts';

const read = (file: string): Uint8Array => new Uint8Array(readFileSync(join(import.meta.dirname, 'vectors', file)));

describe('golden vectors', () => {
  for (const [file, members] of Object.entries(UPDATE_VECTORS)) {
    it(`encodes ${file} byte for byte and decodes it back`, async () => {
      const golden = read(file);
      expect(await encodeUpdateVector(members)).toEqual(golden);
      expect(await decodeAll(golden)).toEqual(members);
    });
  }

  it('decodes the archive GNU tar --format=ustar wrote', async () => {
    const golden = read(GNU_VECTOR.file);
    // GNU tar pads to a 10240-byte record; the decoder accepts that zero padding.
    expect(golden.length % 10240).toBe(0);
    expect(await decodeAll(golden, undefined, 1000)).toEqual(GNU_VECTOR.members);
  });

  it('encodes the state-sync vector byte for byte and decodes it back', async () => {
    const golden = read(STATE_VECTOR.file);
    expect(await encodeStateVector()).toEqual(golden);
    const entries = [];
    for await (const entry of decodeStateSync(chunks(golden, 999), DEFAULT_STATE_SYNC_LIMITS)) {
      if (entry.kind === 'request') entries.push(entry.request);
      else entries.push(...(await collect([{ name: entry.path, body: entry.body }])));
    }
    expect(entries).toEqual([STATE_VECTOR.request, ...STATE_VECTOR.files]);
  });

  for (const [file, reply] of Object.entries(REPLY_VECTORS)) {
    it(`encodes ${file} byte for byte and parses it back`, () => {
      expect(encodeReply(reply)).toEqual(read(file));
      expect(parseReply(read(file))).toEqual(reply);
    });
  }

  for (const [file, vector] of Object.entries(HOSTILE_VECTORS)) {
    it(`rejects ${file} with ${vector.code}`, async () => {
      const golden = read(file);
      expect(golden).toEqual(vector.bytes());
      await expect(decodeAll(golden)).rejects.toMatchObject({ code: vector.code });
    });
  }

  it('lists every vector in the manifest', () => {
    const manifest = JSON.parse(new TextDecoder().decode(read('manifest.json'))) as { hostile: Record<string, string>; update: Record<string, unknown> };
    expect(Object.keys(manifest.update).sort()).toEqual(Object.keys(UPDATE_VECTORS).sort());
    expect(manifest.hostile).toEqual(Object.fromEntries(Object.entries(HOSTILE_VECTORS).map(([f, v]) => [f, v.code])));
  });
});
