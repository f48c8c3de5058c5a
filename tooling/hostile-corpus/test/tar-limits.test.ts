import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archive, concatBytes, drip, endless, member, openCorpus, stallAfter, ustarHeader, zeros, type Corpus,
} from '../src/index.ts';
import { bytesOf } from './support.ts';

let corpus: Corpus;
let v2: { name: string; bytes: Uint8Array }[];

beforeAll(async () => {
  corpus = await openCorpus('limits');
  v2 = await Promise.all(corpus.fx.packages.v2.map(async (p) => ({ name: p.fileName, bytes: await bytesOf(p) })));
});
afterAll(async () => corpus.close());

function batch(): Uint8Array {
  return archive(v2.map((p) => member(p.name, p.bytes)));
}

describe.concurrent('limits on members and bytes', () => {
  it('rejects one member more than --max-files (three signed packages, limit two)', async () => {
    const report = await corpus.reject(batch(), ['TAR_TOO_MANY_MEMBERS'], { flags: ['--max-files', '2'] });
    expect(report.problems).toEqual([]);
  });

  it('rejects a member larger than --max-bytes at its header', async () => {
    const smallest = Math.min(...v2.map((p) => p.bytes.length));
    const report = await corpus.reject(batch(), ['TAR_MEMBER_TOO_LARGE'], { flags: ['--max-bytes', String(smallest - 1)] });
    expect(report.problems).toEqual([]);
  });

  it('rejects members that each fit --max-bytes but together exceed it', async () => {
    const largest = Math.max(...v2.map((p) => p.bytes.length));
    const report = await corpus.reject(batch(), ['TAR_TOO_MANY_BYTES'], { flags: ['--max-bytes', String(largest + 1)] });
    expect(report.problems).toEqual([]);
  });

  it('rejects a size of 8 GiB - 1 at the header, with only the header sent', async () => {
    const stream = concatBytes([ustarHeader({ name: 'x.rpm', size: '77777777777\0' }), zeros(1024)]);
    const report = await corpus.reject(stream, ['TAR_MEMBER_TOO_LARGE', 'TAR_TOO_MANY_BYTES']);
    expect(report.problems).toEqual([]);
  });

  it('rejects a twelve-digit size (64 GiB - 1) at the header', async () => {
    const stream = concatBytes([ustarHeader({ name: 'x.rpm', size: '777777777777' }), zeros(1024)]);
    const report = await corpus.reject(stream, ['TAR_MEMBER_TOO_LARGE', 'TAR_TOO_MANY_BYTES']);
    expect(report.problems).toEqual([]);
  });

  it('rejects a member beyond UPDATES_MAX_BYTES from the environment', async () => {
    const report = await corpus.reject(batch(), ['TAR_MEMBER_TOO_LARGE'], { env: { UPDATES_MAX_BYTES: '1024' } });
    expect(report.problems).toEqual([]);
  });

  it('rejects one member more than UPDATES_MAX_FILES from the environment', async () => {
    const report = await corpus.reject(batch(), ['TAR_TOO_MANY_MEMBERS'], { env: { UPDATES_MAX_FILES: '1' } });
    expect(report.problems).toEqual([]);
  });
});

describe.concurrent('time and endless data', () => {
  it('rejects a sender that stalls before the first byte', async () => {
    const report = await corpus.reject(stallAfter(new Uint8Array(0)), ['TAR_TIMEOUT'], { flags: ['--idle-timeout', '1'], timeout: 5 });
    expect(report.problems).toEqual([]);
  });

  it('rejects a sender that stalls in the middle of a package body', async () => {
    const half = archive([member(v2[0]!.name, v2[0]!.bytes)]).subarray(0, 512 + 3000);
    const report = await corpus.reject(stallAfter(half), ['TAR_TIMEOUT'], { flags: ['--idle-timeout', '1'], timeout: 5 });
    expect(report.problems).toEqual([]);
  });

  it('rejects a sender that stalls after the end marker without closing the stream', async () => {
    const report = await corpus.reject(stallAfter(archive([member(v2[0]!.name, v2[0]!.bytes)])), ['TAR_TIMEOUT'], {
      flags: ['--idle-timeout', '1'],
      timeout: 5,
    });
    expect(report.problems).toEqual([]);
  });

  it('rejects slow retrieval that keeps the idle deadline alive but misses the overall one', async () => {
    const report = await corpus.reject(drip(batch(), 200), ['TAR_TIMEOUT'], { flags: ['--idle-timeout', '1'], timeout: 2 });
    expect(report.problems).toEqual([]);
  });

  it('rejects endless zeros after the end marker without reading them all', async () => {
    const report = await corpus.reject(endless(archive([member(v2[0]!.name, v2[0]!.bytes)]), zeros(65536)), ['TAR_TRAILING_DATA']);
    expect(report.problems).toEqual([]);
  });

  it('rejects an endless junk body at the RPM lead without reading it all', async () => {
    const junk = new Uint8Array(65536).fill(0x41);
    const header = ustarHeader({ name: 'x.rpm', size: 0o7777777777 });
    const report = await corpus.reject(endless(header, junk), ['RPM_BAD_LEAD', 'TAR_MEMBER_TOO_LARGE', 'TAR_TOO_MANY_BYTES']);
    expect(report.problems).toEqual([]);
  });

  it('rejects an endless stream of headers for tiny members at the first bad package', async () => {
    let n = 0;
    const next = (): Uint8Array => member(`m${String((n += 1))}.rpm`, new Uint8Array(10).fill(0x42));
    async function* many(signal: AbortSignal): AsyncIterable<Uint8Array> {
      while (!signal.aborted) {
        yield concatBytes(Array.from({ length: 64 }, next));
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const report = await corpus.reject(many, ['RPM_BAD_LEAD', 'RPM_TRUNCATED', 'TAR_TOO_MANY_MEMBERS']);
    expect(report.problems).toEqual([]);
  });
});
