/**
 * The update stream decoder at its edges: releasing the source, limits of zero, a header one byte
 * short, data deep in the end padding, field bytes at the edge of what is allowed, deadlines that
 * fall together, and the pinned default limits (SPEC 3).
 */
import { describe, expect, it, vi } from 'vitest';
import { type DecodeLimits, decodeUpdateStream, DEFAULT_STATE_SYNC_LIMITS, DEFAULT_UPDATE_LIMITS, StreamError, type StreamErrorCode } from '../src/index.ts';
import { chunks, collect, concat, LIMITS, rejection, type Rejection, text } from './helpers.ts';
import { buildTar, memberBytes, rawHeader, type RawMember } from './tar-builder.ts';

const GOOD: RawMember = { name: 'good-1.0-1.noarch.rpm', body: text('good') };

async function expectCode(bytes: Uint8Array, code: StreamErrorCode, limits?: DecodeLimits): Promise<Rejection> {
  const result = await rejection(bytes, limits);
  expect(result.error.code, result.error.message).toBe(code);
  return result;
}


function watchedSource(pieces: readonly Uint8Array[]): { source: AsyncIterable<Uint8Array>; released: () => boolean } {
  let released = false;
  let at = 0;
  const iterator: AsyncIterator<Uint8Array> = {
    next: () => Promise.resolve(at < pieces.length ? { done: false, value: pieces[at++]! } : { done: true, value: undefined }),
    return: () => {
      released = true;
      return Promise.resolve({ done: true, value: undefined });
    },
  };
  return { source: { [Symbol.asyncIterator]: () => iterator }, released: () => released };
}

describe('releasing the source', () => {
  it('releases the source when it rejects a header while the sender still has data', async () => {
    const bad = rawHeader({ name: 'x.rpm', checksum: '0000000\0' });
    const { source, released } = watchedSource([bad, new Uint8Array(512), new Uint8Array(1024)]);
    const error = await (async () => {
      for await (const member of decodeUpdateStream(source, LIMITS)) throw new Error(`unexpected member ${member.name}`);
      return undefined;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamError);
    expect(error).toMatchObject({ code: 'TAR_BAD_CHECKSUM' });
    expect(released()).toBe(true);
  });

  it('releases the source when the caller stops after the first member', async () => {
    const bytes = buildTar([GOOD, { name: 'b.rpm', body: text('b') }]);
    const { source, released } = watchedSource([bytes.subarray(0, 1024), bytes.subarray(1024)]);
    for await (const member of decodeUpdateStream(source, LIMITS)) {
      for await (const piece of member.body) expect(piece.length).toBeGreaterThan(0);
      break;
    }
    expect(released()).toBe(true);
  });
});

describe('releasing a source that fails to close', () => {
  it('swallows a rejected return() of the source: no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const bad = rawHeader({ name: 'x.rpm', checksum: '0000000\0' });
      const source = {
        [Symbol.asyncIterator]: () => ({
          next: () => Promise.resolve({ done: false, value: bad }),
          return: () => Promise.reject(new Error('close failed')),
        }),
      } as unknown as AsyncIterable<Uint8Array>;
      const caught = await (async () => {
        for await (const member of decodeUpdateStream(source, LIMITS)) throw new Error(`unexpected member ${member.name}`);
        return undefined;
      })().catch((e: unknown) => e);
      expect(caught).toMatchObject({ code: 'TAR_BAD_CHECKSUM' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('limits of zero', () => {
  it('takes zero for every size and count limit (non-negative, SPEC 3.5)', async () => {
    const zero = { ...LIMITS, maxMembers: 0, maxMemberBytes: 0, maxTotalBytes: 0 };
    expect(await collect(decodeUpdateStream(chunks(buildTar([])), zero))).toEqual([]);
    await expectCode(buildTar([{ name: 'x.rpm' }]), 'TAR_TOO_MANY_MEMBERS', zero);
    await expectCode(buildTar([{ name: 'x.rpm', body: text('x') }]), 'TAR_MEMBER_TOO_LARGE', { ...LIMITS, maxMemberBytes: 0 });
  });
});

describe('truncation', () => {
  it('says a stream that ends one byte short of a full header ends inside that header', async () => {
    const header = rawHeader({ name: 'empty.rpm' });
    const { error, yielded } = await expectCode(header.subarray(0, 511), 'TAR_TRUNCATED');
    expect(error.message).toMatch(/inside a header \(511 of 512 bytes\)/);
    expect(yielded).toEqual([]);
  });
});

describe('end of archive', () => {
  it('finds a non-zero byte deep inside trailing padding that arrives as one chunk', async () => {
    const trailing = new Uint8Array(10240);
    trailing[5000] = 0x41;
    const bytes = concat([buildTar([GOOD]), trailing]);
    const { error } = await rejection(bytes, LIMITS, bytes.length);
    expect(error.code).toBe('TAR_TRAILING_DATA');
    expect(error.message).toMatch(/non-zero data/);
  });

  it('reads at most 10241 bytes past the end marker', async () => {
    // 10241 zero bytes are already one too many; a non-zero byte after them must not be reached
    const trailing = new Uint8Array(10240 + 100);
    trailing[10241] = 0x41;
    const bytes = concat([buildTar([GOOD]), trailing]);
    const first = bytes.length - trailing.length + 10240;
    const { error } = await rejection(bytes, LIMITS, first);
    expect(error.code).toBe('TAR_TRAILING_DATA');
    expect(error.message).toMatch(/more than 10240 bytes follow/);
  });
});

describe('octal fields', () => {
  it('takes mode 07777 and rejects 010000', async () => {
    expect(await collect(decodeUpdateStream(chunks(buildTar([{ ...GOOD, fields: { mode: '0007777\0' } }])), LIMITS))).toHaveLength(1);
    const { error } = await expectCode(buildTar([{ name: 'x.rpm', fields: { mode: '0010000\0' } }]), 'TAR_BAD_NUMBER');
    expect(error.message).toMatch(/mode 10000/);
  });

  it('rejects a "/" (the byte below "0") in a size field', async () => {
    const { error } = await expectCode(concat([...memberBytes(GOOD), rawHeader({ name: 'x.rpm', fields: { size: '0000000001/\0' } })]), 'TAR_BAD_NUMBER');
    expect(error.member).toBe('x.rpm');
  });
});

describe('owner names', () => {
  it('takes a gname of 31 bytes and rejects a byte in its 32nd position after a NUL', async () => {
    expect(await collect(decodeUpdateStream(chunks(buildTar([{ ...GOOD, fields: { gname: 'g'.repeat(31) } }])), LIMITS))).toHaveLength(1);
    const { error } = await expectCode(buildTar([{ name: 'x.rpm', fields: { gname: `wheel${'\0'.repeat(26)}x` } }]), 'TAR_BAD_HEADER');
    expect(error.message).toMatch(/gname/);
  });
});

describe('device numbers', () => {
  it('rejects a device number field that starts with NUL but is not all NUL', async () => {
    for (const field of ['devmajor', 'devminor'] as const) {
      const { error } = await expectCode(buildTar([{ name: 'x.rpm', fields: { [field]: '\x000000001' } }]), 'TAR_BAD_HEADER');
      expect(error.message).toMatch(new RegExp(field));
    }
  });
});

describe('prefix field', () => {
  it('shows a non-ASCII prefix byte by byte, never as the character it encodes', async () => {
    // "\xd0\xb0" is UTF-8 for the Cyrillic a, a look-alike of the ASCII one
    const { error } = await expectCode(buildTar([{ name: 'x.rpm', fields: { prefix: 'upd\xd0\xb0tes' } }]), 'TAR_BAD_NAME');
    expect(error.message).toContain('("upd\\xd0\\xb0tes";');
    expect(error.message).not.toContain('\u0430');
  });
});

describe('magic', () => {
  it('names GNU tar format as such when rejecting its "ustar  \\0" magic', async () => {
    const { error } = await expectCode(buildTar([{ name: 'x.rpm', fields: { magic: 'ustar ', version: ' \0' } }]), 'TAR_BAD_MAGIC');
    expect(error.message).toMatch(/GNU tar format header/);
    const other = await expectCode(buildTar([{ name: 'x.rpm', fields: { magic: 'ustar\0', version: ' \0' } }]), 'TAR_BAD_MAGIC');
    expect(other.error.message).not.toMatch(/GNU/);
  });
});

describe('deadlines', () => {
  it('does not ask the sender for bytes once the overall deadline has passed', async () => {
    let asked = 0;
    const source: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          asked++;
          return Promise.resolve({ done: false, value: new Uint8Array(512) });
        },
      }),
    };
    const caught = await (async () => {
      for await (const member of decodeUpdateStream(source, { ...LIMITS, overallTimeoutMs: 0 })) throw new Error(`unexpected member ${member.name}`);
      return undefined;
    })().catch((e: unknown) => e);
    expect(caught).toMatchObject({ code: 'TAR_TIMEOUT' });
    expect(asked).toBe(0);
  });

  it('ends a stalled sender at the overall deadline, not later (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const stalled: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => undefined) }) };
      let caught: unknown;
      void (async () => {
        for await (const member of decodeUpdateStream(stalled, { ...LIMITS, idleTimeoutMs: 5000, overallTimeoutMs: 1000 })) {
          throw new Error(`unexpected member ${member.name}`);
        }
      })().catch((e: unknown) => (caught = e));
      await vi.advanceTimersByTimeAsync(999);
      expect(caught).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(caught).toMatchObject({ code: 'TAR_TIMEOUT' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('reports the overall deadline when it falls together with the idle one', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const stalled: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => undefined) }) };
      let caught: unknown;
      const done = (async () => {
        for await (const member of decodeUpdateStream(stalled, { ...LIMITS, idleTimeoutMs: 1000, overallTimeoutMs: 1000 })) {
          throw new Error(`unexpected member ${member.name}`);
        }
      })().catch((e: unknown) => (caught = e));
      await vi.advanceTimersByTimeAsync(1000);
      await done;
      expect(caught).toMatchObject({ code: 'TAR_TIMEOUT' });
      expect((caught as StreamError).message).toMatch(/took longer than 1000 ms/);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('sources that misbehave', () => {
  it('says a next() that resolves to a non-object returned no iterator result', async () => {
    const source = { [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(42) }) } as unknown as AsyncIterable<Uint8Array>;
    const caught = await (async () => {
      for await (const member of decodeUpdateStream(source, LIMITS)) throw new Error(`unexpected member ${member.name}`);
      return undefined;
    })().catch((e: unknown) => e);
    expect(caught).toMatchObject({ code: 'TAR_SOURCE_ERROR' });
    expect((caught as StreamError).message).toMatch(/something other than an iterator result/);
  });
});

describe('default limits (SPEC 3.5)', () => {
  it('pins the update stream and state-sync defaults', () => {
    const GIB = 1024 ** 3;
    expect(DEFAULT_UPDATE_LIMITS).toEqual({ maxMembers: 4096, maxMemberBytes: 2 * GIB, maxTotalBytes: 4 * GIB, idleTimeoutMs: 300000, overallTimeoutMs: 7200000 });
    expect(DEFAULT_STATE_SYNC_LIMITS).toEqual({ maxMembers: 1024, maxMemberBytes: GIB, maxTotalBytes: 2 * GIB, idleTimeoutMs: 300000, overallTimeoutMs: 1800000 });
  });
});
