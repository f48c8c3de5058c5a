import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MEMBER_NAME_PATTERN, StreamError, decodeUpdateStream, encodeUpdateStream, sanitizeForTerminal } from '../src/index.ts';
import { Capture, LIMITS, chunks, collect, type Collected } from './helpers.ts';

const nameArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+^~-]{0,40}\.rpm$/);
const membersArb = fc.uniqueArray(fc.record({ name: nameArb, bytes: fc.uint8Array({ maxLength: 1500 }) }), {
  // Names that differ only in case are duplicates on the wire.
  selector: (m) => m.name.toLowerCase(),
  maxLength: 6,
});

async function encode(members: readonly Collected[]): Promise<Uint8Array> {
  const out = new Capture();
  await encodeUpdateStream(members.map((m) => ({ name: m.name, size: m.bytes.length, body: [m.bytes] })), out);
  return out.bytes;
}

/** Byte ranges [start, end) of each member's body inside the encoded stream. */
function bodyRanges(members: readonly Collected[]): [number, number][] {
  const ranges: [number, number][] = [];
  let at = 0;
  for (const member of members) {
    const start = at + 512;
    ranges.push([start, start + member.bytes.length]);
    at = start + Math.ceil(member.bytes.length / 512) * 512;
  }
  return ranges;
}

type Decoded = { accepted: Collected[] } | { error: StreamError };

async function decode(bytes: Uint8Array, chunkSize: number): Promise<Decoded> {
  try {
    return { accepted: await collect(decodeUpdateStream(chunks(bytes, chunkSize), LIMITS)) };
  } catch (error) {
    if (error instanceof StreamError) return { error };
    throw error;
  }
}

describe('properties', () => {
  it('encode then decode round-trips any valid member set, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(membersArb, fc.integer({ min: 1, max: 3000 }), async (members, chunkSize) => {
        const decoded = await decode(await encode(members), chunkSize);
        expect(decoded).toEqual({ accepted: members });
      }),
      { numRuns: 150 },
    );
  });

  const mutationArb = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 600 }), fc.integer({ min: 1, max: 3 }).map((n) => new Uint8Array(512 * n))) }),
  );

  it('never accepts a corrupted stream with a member that was not sent, outside a corrupted body', async () => {
    await fc.assert(
      fc.asyncProperty(membersArb, mutationArb, fc.integer({ min: 1, max: 2000 }), async (members, mutation, chunkSize) => {
        const original = await encode(members);
        const at = mutation.at % original.length;
        let corrupted: Uint8Array;
        if (mutation.kind === 'flip') {
          corrupted = Uint8Array.from(original);
          corrupted[at] = corrupted[at]! ^ mutation.xor;
        } else if (mutation.kind === 'truncate') {
          corrupted = original.subarray(0, at);
        } else {
          corrupted = new Uint8Array(original.length + mutation.bytes.length);
          corrupted.set(original.subarray(0, at));
          corrupted.set(mutation.bytes, at);
          corrupted.set(original.subarray(at), at + mutation.bytes.length);
        }
        const result = await decode(corrupted, chunkSize);
        if (mutation.kind === 'truncate') {
          // Any cut of a valid stream is detected.
          expect(result).toHaveProperty('error');
          return;
        }
        if ('error' in result) return;
        // Accepted: the same members, in the same order, with the same sizes; only a member whose
        // body held the corruption may differ (tar has no body checksum; RPM signatures cover that).
        const ranges = bodyRanges(members);
        expect(result.accepted.map((m) => [m.name, m.bytes.length])).toEqual(members.map((m) => [m.name, m.bytes.length]));
        result.accepted.forEach((member, i) => {
          const [start, end] = ranges[i]!;
          if (!(at >= start && at < end)) expect(member.bytes).toEqual(members[i]!.bytes);
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('every accepted name matches the member name rule, whatever the name field holds', async () => {
    // random bytes alone are refused before the name rule is reached (NUL or non-printable), so
    // half the runs are near-valid names: the rule's own characters, some it refuses, with or without .rpm
    const nearName = fc
      .tuple(fc.array(fc.constantFrom(...'aZ09._+^~-/ :*?\\%!'.split('')), { maxLength: 95 }), fc.boolean())
      .map(([chars, rpm]) => new TextEncoder().encode(`${chars.join('')}${rpm ? '.rpm' : ''}`));
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ minLength: 100, maxLength: 100 }), nearName), async (nameField) => {
        const original = await encode([{ name: 'x.rpm', bytes: new Uint8Array(3) }]);
        const header = original.subarray(0, 512);
        header.fill(0, 0, 100);
        header.set(nameField, 0);
        header.fill(0x20, 148, 156);
        const sum = header.reduce((n, b) => n + b, 0);
        header.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
        const result = await decode(original, 512);
        if ('accepted' in result) {
          accepted += 1;
          expect(result.accepted).toHaveLength(1);
          expect(result.accepted[0]?.name).toMatch(MEMBER_NAME_PATTERN);
        } else {
          expect(result.error.code).toBe('TAR_BAD_NAME');
        }
      }),
      { numRuns: 600 },
    );
    // the accepting branch ran: the rule, not an earlier check, decided those names
    expect(accepted).toBeGreaterThan(0);
  });

  it('sanitizeForTerminal output is visible-only, idempotent and bounded for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 1, max: 400 }), (input, max) => {
        const out = sanitizeForTerminal(input, max);
        expect(out).toMatch(/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u);
        expect(out.length).toBeLessThanOrEqual(max);
        expect(sanitizeForTerminal(out, max)).toBe(out);
      }),
      { numRuns: 500 },
    );
  });
});
