import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { PROTOCOL_VERSION, StreamError, decodeUpdateStream, type DecodeLimits, type UpdateRequest } from '../src/index.ts';

export const LIMITS: DecodeLimits = {
  maxMembers: 100,
  maxMemberBytes: 1024 * 1024,
  maxTotalBytes: 4 * 1024 * 1024,
  idleTimeoutMs: 5000,
  overallTimeoutMs: 20000,
};

/** Yields `bytes` in pieces of `chunkSize` (default: one chunk). */
export async function* chunks(bytes: Uint8Array, chunkSize = bytes.length || 1): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += chunkSize) {
    await Promise.resolve();
    yield bytes.subarray(i, i + chunkSize);
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export interface Collected {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export async function collect(
  members: AsyncIterable<{ name: string; body: AsyncIterable<Uint8Array> }> | Iterable<{ name: string; body: AsyncIterable<Uint8Array> }>,
): Promise<Collected[]> {
  const out: Collected[] = [];
  for await (const member of members) {
    const parts: Uint8Array[] = [];
    for await (const part of member.body) parts.push(Uint8Array.from(part));
    out.push({ name: member.name, bytes: concat(parts) });
  }
  return out;
}

export function decodeAll(bytes: Uint8Array, limits: DecodeLimits = LIMITS, chunkSize?: number): Promise<Collected[]> {
  return collect(decodeUpdateStream(chunks(bytes, chunkSize), limits));
}

/** A Writable that keeps what it is given. */
export class Capture extends Writable {
  readonly parts: Uint8Array[] = [];

  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.parts.push(Uint8Array.from(chunk));
    callback();
  }

  get bytes(): Uint8Array {
    return concat(this.parts);
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export interface Rejection {
  readonly error: StreamError;
  /** Names of the members yielded before the rejection. */
  readonly yielded: string[];
}

/** Decodes `bytes` expecting a rejection; fails the test if the stream is accepted. */
export async function rejection(bytes: Uint8Array, limits: DecodeLimits = LIMITS, chunkSize = 512): Promise<Rejection> {
  const yielded: string[] = [];
  try {
    for await (const member of decodeUpdateStream(chunks(bytes, chunkSize), limits)) {
      yielded.push(member.name);
      for await (const piece of member.body) expect(piece.length).toBeGreaterThan(0);
    }
  } catch (error) {
    if (error instanceof StreamError) return { error, yielded };
    throw error;
  }
  throw new Error('the stream was accepted');
}

/** A plain upgrade request: no packages, repositories or options. */
export const UPGRADE_REQUEST: UpdateRequest = {
  protocol: PROTOCOL_VERSION,
  action: 'upgrade',
  packages: [],
  enableRepos: [],
  disableRepos: [],
  clean: false,
  dnfOptions: [],
};
