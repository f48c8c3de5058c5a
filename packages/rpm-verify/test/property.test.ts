import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtures, type Loaded } from './support/fixtures.ts';
import { splitPackage, type PackageParts } from './support/package-bytes.ts';
import { outcome } from './support/verify-bytes.ts';

let fx: Loaded;
let originals: PackageParts[];
beforeAll(async () => {
  fx = await fixtures();
  const rsa = fx.set.packages.v2.find((p) => p.signer === 'trusted-rsa')!;
  const edV3 = fx.set.rpmv3.find((p) => p.signer === 'trusted-ed25519')!;
  originals = [splitPackage(await readFile(rsa.path)), splitPackage(await readFile(edV3.path))];
}, 300_000);

type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; length: number };

function apply(bytes: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(bytes);
  for (const m of muts) {
    const at = m.at % (b.length + 1);
    if (m.kind === 'flip' && at < b.length) b[at] = (b[at] ?? 0) ^ m.mask;
    else if (m.kind === 'truncate') b = b.subarray(0, at);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
  }
  return b;
}

describe('mutations of real signed packages', () => {
  // Every byte is bound by a signature, a digest or a strict rule, except the lead's arch number:
  // it is the build host's (or mock's --target's), so any number rpm can write there passes.
  it('reject a flip of any bit of any byte before the payload, except into another arch number rpm writes', async () => {
    const archNumbers = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 255]);
    for (const original of originals) {
      for (let at = 0; at < original.payloadStart; at++) {
        for (let bit = 0; bit < 8; bit++) {
          const mutated = Buffer.from(original.bytes);
          mutated[at] = (mutated[at] ?? 0) ^ (1 << bit);
          const verdict = await outcome(mutated, fx.trusted);
          const otherArch = at === 9 && archNumbers.has(mutated.readUInt16BE(8));
          if ((verdict === 'ACCEPTED') !== otherArch) expect.fail(`a flip of bit ${bit} at offset ${at} was ${verdict}`);
        }
      }
    }
  }, 300_000);

  it('never yield an accepted package whose bytes differ from the signed original', async () => {
    // offsets biased towards lead and headers, where the parser's decisions are
    const offset = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 6000 }) }, { weight: 1, arbitrary: fc.nat() });
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: offset, mask: fc.integer({ min: 1, max: 255 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: offset, bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: offset, length: fc.integer({ min: 1, max: 16 }) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 4 }), async (which, muts, chunks) => {
        const original = originals[which]!;
        const mutated = apply(original.bytes, muts);
        const verdict = await outcome(mutated, fx.trusted, chunks);
        if (verdict !== 'ACCEPTED') return;
        // the arch number aside (see above), the accepted bytes are the signed ones
        const sameButArch = Buffer.from(mutated);
        if (sameButArch.length >= 10) sameButArch.writeUInt16BE(original.bytes.readUInt16BE(8), 8);
        expect(sameButArch.equals(original.bytes)).toBe(true);
      }),
      { numRuns: 400, seed: 20240102 },
    );
    // sanity: the property is not vacuous, unmutated packages do verify
    for (const o of originals) expect(await outcome(o.bytes, fx.trusted)).toBe('ACCEPTED');
  }, 120_000);
});
