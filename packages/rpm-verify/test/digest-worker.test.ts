import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestWorker } from '../src/digest/digest-worker.ts';
import { RING_BYTES } from '../src/digest/ring.ts';
import { createRpmVerifier, type OffloadedDigest, type VerifiedPackage } from '../src/verifier.ts';
import { fixtures, type Loaded } from './support/fixtures.ts';
import { rebuild, splitPackage } from './support/package-bytes.ts';
import { codeOf, NOW, verifyBytes } from './support/verify-bytes.ts';

let fx: Loaded;
let worker: DigestWorker;
beforeAll(async () => {
  fx = await fixtures();
  worker = DigestWorker.start();
}, 300_000);
afterAll(async () => {
  await worker.stop();
});

const ALL: readonly OffloadedDigest[] = ['file-sha256', 'legacy-md5'];

async function verifyOffloaded(bytes: Uint8Array, digests: readonly OffloadedDigest[], chunk = 65_536): Promise<VerifiedPackage> {
  const v = createRpmVerifier(fx.trusted, { now: NOW, offload: { worker, digests } }, 'test.rpm');
  for (let off = 0; off < bytes.length; off += chunk) v.write(bytes.subarray(off, off + chunk));
  return v.finish();
}


describe('digest worker', () => {
  it('computes the same MD5 and SHA-256 as node:crypto for any split of the input, across the ring wrap', async () => {
    // inputs up to 2.5 ring sizes, so records wrap around the end of the ring several times
    const data = Buffer.alloc(RING_BYTES * 2 + RING_BYTES / 2 + 13);
    for (let i = 0; i < data.length; i += 1) data[i] = (i * 7919) >>> 3;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: RING_BYTES }), { minLength: 1, maxLength: 12 }), async (sizes) => {
        const md5 = worker.begin('md5');
        const sha = worker.begin('sha256');
        let off = 0;
        for (let i = 0; off < data.length; i += 1) {
          const n = sizes[i % sizes.length] ?? 1;
          // the first 100 bytes go to the SHA-256 only, like the file digest before the header
          const part = data.subarray(off, Math.min(data.length, off + n));
          if (off < 100) {
            const head = part.subarray(0, 100 - off);
            worker.update(sha, undefined, head);
            worker.update(sha, md5, part.subarray(head.length));
          } else {
            worker.update(sha, md5, part);
          }
          off += part.length;
        }
        const [gotMd5, gotSha] = await Promise.all([worker.digest(md5), worker.digest(sha)]);
        expect(gotMd5.toString('hex')).toBe(createHash('md5').update(data.subarray(100)).digest('hex'));
        expect(gotSha.toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      }),
      { numRuns: 12 },
    );
  });

  it('keeps later digests right after a dropped one', async () => {
    const dropped = worker.begin('sha256');
    worker.update(dropped, undefined, Buffer.from('abandoned'));
    worker.drop(dropped);
    const job = worker.begin('sha512');
    worker.update(job, undefined, Buffer.from('kept'));
    expect((await worker.digest(job)).toString('hex')).toBe(createHash('sha512').update('kept').digest('hex'));
  });

  it('refuses work after stop, with RPM_STATE', async () => {
    const own = DigestWorker.start();
    const job = own.begin('md5');
    own.update(job, undefined, Buffer.from('x'));
    const digest = own.digest(job);
    await own.stop();
    // asked for before the stop: still delivered
    expect((await digest).toString('hex')).toBe(createHash('md5').update('x').digest('hex'));
    expect(() => own.begin('md5')).toThrow(expect.objectContaining({ code: 'RPM_STATE' }) as Error);
  });
});

describe('verifier with digests offloaded to the worker', () => {
  it('returns exactly what the single-thread verifier returns, for header-only and v3-signed packages', async () => {
    const files = [...fx.set.packages.v2, ...fx.set.rpmv3].filter((p) => p.signer?.startsWith('trusted-') === true);
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const pkg of files) {
      const bytes = await readFile(pkg.path);
      const expected = await verifyBytes(bytes, fx.trusted);
      for (const digests of [ALL, ['legacy-md5'] as const, ['file-sha256'] as const]) {
        for (const chunk of [1, 1000, 65_536, bytes.length]) {
          expect(await verifyOffloaded(bytes, digests, chunk)).toEqual(expected);
        }
      }
      expect(expected.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });

  it('still rejects a bad MD5 (1004) when the MD5 runs on the worker', async () => {
    const rsa = splitPackage(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-rsa')!.path));
    const bad = rebuild(rsa, { sig: (es) => es.map((e) => (e.tag === 1004 ? { ...e, data: Buffer.from(e.data.map((b, i) => (i === 0 ? b ^ 1 : b))) } : e)) });
    expect(await codeOf(verifyOffloaded(bad, ALL))).toBe('RPM_DIGEST_MISMATCH');
    expect(await codeOf(verifyOffloaded(bad, ['legacy-md5']))).toBe('RPM_DIGEST_MISMATCH');
    // the worker is still usable after a rejection
    expect((await verifyOffloaded(rsa.bytes, ALL)).nevraString).toBe((await verifyBytes(rsa.bytes, fx.trusted)).nevraString);
  });

  it('still rejects a changed payload byte and a truncated file', async () => {
    const bytes = Buffer.from(await readFile(fx.set.packages.v2.find((p) => p.signer === 'trusted-ed25519')!.path));
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 5] = (flipped[bytes.length - 5] ?? 0) ^ 0x40;
    expect(await codeOf(verifyOffloaded(flipped, ALL))).toBe('RPM_PAYLOAD_MISMATCH');
    expect(await codeOf(verifyOffloaded(bytes.subarray(0, bytes.length - 1), ALL))).toBe('RPM_TRUNCATED');
  });
});
