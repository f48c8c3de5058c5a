/**
 * The decoder's answer must not depend on how the transport cuts the bytes: a header, a body, the
 * padding or the end marker split at any offset decodes the same, and a hostile stream gets the
 * same code however it is chunked.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamError, decodeUpdateStream } from '../src/index.ts';
import { LIMITS, collect, type Collected } from './helpers.ts';
import { buildTar } from './tar-builder.ts';

async function* pieces(bytes: Uint8Array, cuts: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    await Promise.resolve();
    yield bytes.subarray(at, cut);
    at = cut;
  }
  yield bytes.subarray(at);
}

type Outcome = { accepted: Collected[] } | { code: string };

async function outcome(bytes: Uint8Array, cuts: readonly number[]): Promise<Outcome> {
  try {
    return { accepted: await collect(decodeUpdateStream(pieces(bytes, cuts), LIMITS)) };
  } catch (error) {
    if (error instanceof StreamError) return { code: error.code };
    throw error;
  }
}

const members = [
  { name: 'a-1.0-1.noarch.rpm', bytes: new TextEncoder().encode('first body') },
  { name: 'b.rpm', bytes: new Uint8Array(700).map((_, i) => i % 256) },
];
const stream = buildTar(members.map((m) => ({ name: m.name, body: m.bytes })));

describe('chunk boundaries', () => {
  it('decodes the same with one cut at every offset of the first two headers and the end marker', async () => {
    const offsets = [
      ...Array.from({ length: 513 }, (_, i) => i),
      ...Array.from({ length: 513 }, (_, i) => 1024 + i),
      ...Array.from({ length: 1025 }, (_, i) => stream.length - 1024 + i),
    ];
    for (const cut of offsets) {
      expect(await outcome(stream, [cut]), `cut at ${cut}`).toEqual({ accepted: members });
    }
  });

  it('decodes the same with any set of cuts, including empty pieces', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 40 }), async (cuts) => {
        expect(await outcome(stream, cuts)).toEqual({ accepted: members });
      }),
      { numRuns: 300 },
    );
  });

  it('gives a corrupted stream the same answer however it is cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: stream.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 20 }),
        async (at, xor, cuts) => {
          const corrupted = Uint8Array.from(stream);
          corrupted[at] = corrupted[at]! ^ xor;
          expect(await outcome(corrupted, cuts)).toEqual(await outcome(corrupted, []));
        },
      ),
      { numRuns: 400 },
    );
  });
});
