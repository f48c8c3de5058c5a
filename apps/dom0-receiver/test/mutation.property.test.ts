import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeStream, getFixtures, keyringArgs, makeUpdatesDir, runReceiver, sha256 } from './helpers.ts';

type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'append'; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

function apply(original: Buffer, m: Mutation): Buffer {
  const at = m.kind === 'append' ? original.length : m.at % original.length;
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(original);
      out[at] = (out[at] ?? 0) ^ m.mask;
      return out;
    }
    case 'truncate':
      return original.subarray(0, at);
    case 'insert':
      return Buffer.concat([original.subarray(0, at), m.bytes, original.subarray(at)]);
    case 'delete':
      return Buffer.concat([original.subarray(0, at), original.subarray(at + m.length)]);
    case 'append':
      return Buffer.concat([original, m.bytes]);
  }
}

describe('mutated packages through receive', () => {
  it('never publishes bytes that differ from a signed original', async () => {
    const f = await getFixtures();
    const sources = [...f.packages.v1, ...f.packages.v2, ...f.rpmv3];
    const originals = await Promise.all(sources.map(async (p) => ({ name: p.fileName, bytes: await readFile(p.path) })));
    const signed = new Set(originals.map((o) => sha256(o.bytes)));
    const dir = await makeUpdatesDir();
    const args = ['receive', '--updates-dir', dir, ...(await keyringArgs())];
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: originals.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (index, mutations) => {
        const original = originals[index]!;
        const bytes = mutations.reduce(apply, original.bytes);
        const run = await runReceiver(args, { stdin: await encodeStream([{ name: original.name, size: bytes.length, body: [bytes] }]) });
        if (run.code === 0) accepted += 1;
        else expect(run.code).toBe(1);
        let published: string[] = [];
        try {
          published = (await readdir(join(dir, 'repo'))).filter((n) => n.endsWith('.rpm'));
        } catch {
          // nothing published yet
        }
        for (const name of published) expect(signed.has(sha256(await readFile(join(dir, 'repo', name))))).toBe(true);
      }),
      { numRuns: 30 },
    );
    // the property must have been exercised on rejections: nearly every mutation breaks a signature
    expect(accepted).toBeLessThan(30);
  });
});
