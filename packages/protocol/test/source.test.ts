/**
 * How the decoder treats its transport: deadlines, abort, failing or odd sources, and memory for
 * huge chunks. These are the "endless data and slow retrieval" rows of the threat catalogue.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamError, decodeUpdateStream, type DecodeLimits } from '../src/index.ts';
import { LIMITS, chunks } from './helpers.ts';
import { buildTar, rawHeader } from './tar-builder.ts';

async function run(source: AsyncIterable<Uint8Array>, limits: DecodeLimits = LIMITS, signal?: AbortSignal): Promise<{ names: string[]; error?: StreamError }> {
  const names: string[] = [];
  try {
    for await (const member of decodeUpdateStream(source, limits, signal)) {
      names.push(member.name);
      for await (const piece of member.body) expect(piece).toBeInstanceOf(Uint8Array);
    }
  } catch (error) {
    if (error instanceof StreamError) return { names, error };
    throw error;
  }
  return { names };
}

function iterable(next: () => unknown): AsyncIterable<Uint8Array> {
  return { [Symbol.asyncIterator]: () => ({ next }) as unknown as AsyncIterator<Uint8Array> };
}

const ONE = buildTar([{ name: 'a.rpm', body: new Uint8Array(3) }]);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a source that yields empty chunks forever', () => {
  it('is ended by the idle deadline: empty chunks are not progress', async () => {
    let calls = 0;
    const flood = iterable(() => {
      calls++;
      return Promise.resolve({ done: false, value: new Uint8Array(0) });
    });
    const { error } = await run(flood, { ...LIMITS, idleTimeoutMs: 50, overallTimeoutMs: 60000 });
    expect(error?.code).toBe('TAR_TIMEOUT');
    expect(error?.message).toMatch(/sent nothing for 50 ms/);
    // Each empty chunk waits one event-loop turn (about 1 ms), so this is no busy loop.
    expect(calls).toBeLessThan(5000);
  });

  it('still lets the abort signal through', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const flood = iterable(() => Promise.resolve({ done: false, value: new Uint8Array(0) }));
    const { error } = await run(flood, { ...LIMITS, idleTimeoutMs: 2000, overallTimeoutMs: 2000 }, controller.signal);
    expect(error?.code).toBe('TAR_ABORTED');
  });
});

describe('deadlines', () => {
  it('honours deadlines longer than setTimeout can express (no spurious timeout)', async () => {
    async function* gap(): AsyncGenerator<Uint8Array> {
      yield ONE.subarray(0, 100);
      await new Promise((resolve) => setTimeout(resolve, 20));
      yield ONE.subarray(100);
    }
    const result = await run(gap(), { ...LIMITS, idleTimeoutMs: 2 ** 32, overallTimeoutMs: Number.MAX_SAFE_INTEGER });
    expect(result).toEqual({ names: ['a.rpm'] });
  });

  it('ends a stalled sender at the idle deadline, not later (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      async function* stalled(): AsyncGenerator<Uint8Array> {
        yield rawHeader({ name: 'x.rpm', body: new Uint8Array(10) });
        await new Promise<never>(() => undefined);
      }
      let result: Awaited<ReturnType<typeof run>> | undefined;
      void run(stalled(), { ...LIMITS, idleTimeoutMs: 1000, overallTimeoutMs: 60000 }).then((r) => (result = r));
      await vi.advanceTimersByTimeAsync(999);
      expect(result).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(result?.error?.code).toBe('TAR_TIMEOUT');
      expect(result?.error?.message).toBe('member x.rpm: the sender sent nothing for 1000 ms while receiving this member');
    } finally {
      vi.useRealTimers();
    }
  });

  it('ends a sender that keeps sending body bytes well inside the idle deadline at the overall deadline', async () => {
    const bytes = buildTar([{ name: 'x.rpm', body: new Uint8Array(100000) }]);
    async function* loris(): AsyncGenerator<Uint8Array> {
      yield bytes.subarray(0, 512);
      for (let i = 512; i < bytes.length; i += 16) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        yield bytes.subarray(i, i + 16);
      }
    }
    const { error, names } = await run(loris(), { ...LIMITS, idleTimeoutMs: 10000, overallTimeoutMs: 150 });
    expect(error?.code).toBe('TAR_TIMEOUT');
    expect(error?.message).toMatch(/longer than 150 ms/);
    expect(names).toEqual(['x.rpm']);
  });

  it('measures the overall deadline on a monotonic clock: a wall-clock step back does not extend it', async () => {
    let wall = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => (wall -= 60_000));
    async function* trickle(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 400; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        yield Uint8Array.of(ONE[i]!);
      }
      await new Promise<never>(() => undefined);
    }
    const { error } = await run(trickle(), { ...LIMITS, idleTimeoutMs: 2000, overallTimeoutMs: 100 });
    expect(error?.code).toBe('TAR_TIMEOUT');
    expect(error?.message).toMatch(/longer than 100 ms/);
  });
});

describe('abort', () => {
  it('stops at the next member even when the rest of the stream is already buffered', async () => {
    const bytes = buildTar([1, 2, 3].map((i) => ({ name: `m${i}.rpm`, body: new Uint8Array(10) })));
    const controller = new AbortController();
    const names: string[] = [];
    async function* once(): AsyncGenerator<Uint8Array> {
      yield bytes;
      await new Promise<never>(() => undefined);
    }
    const error = await (async () => {
      for await (const member of decodeUpdateStream(once(), LIMITS, controller.signal)) {
        names.push(member.name);
        for await (const piece of member.body) expect(piece.length).toBe(10);
        controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TAR_ABORTED' });
    expect(names).toEqual(['m1.rpm']);
  });

  it('refuses to start when the signal is already aborted', async () => {
    let asked = 0;
    const source = iterable(() => {
      asked++;
      return Promise.resolve({ done: false, value: ONE });
    });
    const { error } = await run(source, LIMITS, AbortSignal.abort());
    expect(error?.code).toBe('TAR_ABORTED');
    expect(asked).toBe(0);
  });
});

describe('sources that misbehave', () => {
  it('maps a next() that throws synchronously to TAR_SOURCE_ERROR', async () => {
    const { error } = await run(iterable(() => {
      throw new Error('boom');
    }));
    expect(error?.code).toBe('TAR_SOURCE_ERROR');
    expect(error?.message).toMatch(/boom/);
  });

  it('maps a next() that resolves to a non-object to TAR_SOURCE_ERROR', async () => {
    const { error } = await run(iterable(() => Promise.resolve(42)));
    expect(error?.code).toBe('TAR_SOURCE_ERROR');
  });

  it('maps a source whose iterator cannot be created to TAR_SOURCE_ERROR', async () => {
    const broken = {
      [Symbol.asyncIterator]: () => {
        throw new Error('no iterator');
      },
    } as AsyncIterable<Uint8Array>;
    const { error } = await run(broken);
    expect(error?.code).toBe('TAR_SOURCE_ERROR');
  });

  it('rejects strings from a source (a Readable with an encoding set)', async () => {
    const { error } = await run(iterable(() => Promise.resolve({ done: false, value: 'x'.repeat(512) })));
    expect(error?.code).toBe('TAR_SOURCE_ERROR');
  });

  it('reports a source that fails after a header, mid-body', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield rawHeader({ name: 'x.rpm', body: new Uint8Array(100) });
      await Promise.resolve();
      throw new Error('EPIPE');
    }
    const { error, names } = await run(failing());
    expect(error?.code).toBe('TAR_SOURCE_ERROR');
    expect(names).toEqual(['x.rpm']);
  });
});

describe('memory', () => {
  it('streams a 64 MiB member that arrives in one chunk as views of that chunk, never copies', async () => {
    const size = 64 * 1024 * 1024;
    const whole = buildTar([{ name: 'big.rpm', body: new Uint8Array(size) }]);
    const pieces: Uint8Array[] = [];
    for await (const member of decodeUpdateStream(chunks(whole), { ...LIMITS, maxMemberBytes: size, maxTotalBytes: size })) {
      for await (const piece of member.body) pieces.push(piece);
    }
    expect(pieces).toHaveLength(1);
    expect(pieces[0]!.length).toBe(size);
    expect(pieces[0]!.buffer).toBe(whole.buffer);
    expect(pieces[0]!.byteOffset).toBe(512);
  });
});
