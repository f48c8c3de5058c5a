import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SERVICE_CALL, VersionError, checkServiceArgument, encodeUpdateStream } from '../src/index.ts';
import { decodeUpdateStream } from '../src/index.ts';
import { Capture, LIMITS, collect, decodeAll, text } from './helpers.ts';

const dir = (): string => mkdtempSync(join(tmpdir(), 'enc-'));

describe('encoder', () => {
  it('refuses a symlink in place of a file (O_NOFOLLOW) and writes nothing for it', async () => {
    const d = dir();
    writeFileSync(join(d, 'target'), 'secret');
    symlinkSync(join(d, 'target'), join(d, 'link.rpm'));
    const out = new Capture();
    await expect(encodeUpdateStream([{ name: 'link.rpm', path: join(d, 'link.rpm') }], out)).rejects.toMatchObject({
      code: 'ENCODE_NOT_A_FILE',
    });
    expect(out.bytes).toHaveLength(0);
  });

  it('refuses a FIFO in place of a file without blocking on it', async () => {
    const d = dir();
    execFileSync('mkfifo', [join(d, 'x.rpm')]);
    const out = new Capture();
    await expect(encodeUpdateStream([{ name: 'x.rpm', path: join(d, 'x.rpm') }], out)).rejects.toMatchObject({
      code: 'ENCODE_NOT_A_FILE',
    });
    expect(out.bytes).toHaveLength(0);
  });

  it('refuses a character device as a file source', async () => {
    await expect(encodeUpdateStream([{ name: 'x.rpm', path: '/dev/zero' }], new Capture())).rejects.toMatchObject({
      code: 'ENCODE_NOT_A_FILE',
    });
  });

  it('refuses a directory as a file source', async () => {
    const d = dir();
    mkdirSync(join(d, 'x.rpm'));
    await expect(encodeUpdateStream([{ name: 'x.rpm', path: join(d, 'x.rpm') }], new Capture())).rejects.toMatchObject({
      code: 'ENCODE_NOT_A_FILE',
    });
  });

  it('refuses a body that yields a different number of bytes than declared', async () => {
    await expect(encodeUpdateStream([{ name: 'x.rpm', size: 5, body: [text('abc')] }], new Capture())).rejects.toMatchObject({
      code: 'ENCODE_SIZE_CHANGED',
    });
    await expect(encodeUpdateStream([{ name: 'x.rpm', size: 2, body: [text('abc')] }], new Capture())).rejects.toMatchObject({
      code: 'ENCODE_SIZE_CHANGED',
    });
  });

  it('checks every name of an array before writing the first byte', async () => {
    const out = new Capture();
    await expect(
      encodeUpdateStream(
        [
          { name: 'ok.rpm', size: 1, body: [text('a')] },
          { name: 'ok.rpm', size: 1, body: [text('a')] },
        ],
        out,
      ),
    ).rejects.toMatchObject({ code: 'ENCODE_DUPLICATE_NAME' });
    expect(out.bytes).toHaveLength(0);
  });

  it('refuses names too long for the ustar name field even though the pattern allows them', async () => {
    await expect(
      encodeUpdateStream([{ name: `${'a'.repeat(97)}.rpm`, size: 0, body: [] }], new Capture()),
    ).rejects.toMatchObject({ code: 'ENCODE_BAD_NAME', message: expect.stringMatching(/longer than 100 bytes/) as unknown });
  });

  it('stops writing while the reader holds its buffer full (backpressure), and the reader decodes every byte', async () => {
    const d = dir();
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    writeFileSync(join(d, 'big.rpm'), big);
    const taken: Buffer[] = [];
    const held: (() => void)[] = [];
    let reading = false;
    const out = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, callback) {
        taken.push(chunk);
        if (reading) callback();
        else held.push(() => callback());
      },
    });
    const encoding = encodeUpdateStream([{ name: 'big.rpm', path: join(d, 'big.rpm') }], out);
    // until the handed-over bytes stop growing: an encoder that ignored write()'s false would
    // queue the whole file in the stream's buffer meanwhile
    const handed = (): number => taken.reduce((n, c) => n + c.length, 0) + out.writableLength;
    for (let last = -1, still = 0; still < 5; ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const now = handed();
      still = now === last ? still + 1 : 0;
      last = now;
    }
    expect(handed()).toBeLessThan(big.length / 4);
    reading = true;
    for (const release of held.splice(0)) release();
    const summary = await encoding;
    const decoded = await collect(decodeUpdateStream(Readable.from([Buffer.concat(taken)]), { ...LIMITS, maxMemberBytes: 4 * 1024 * 1024 }));
    expect(decoded.map((m) => m.name)).toEqual(['big.rpm']);
    // Buffer.equals: a deep toEqual over 3 MiB is needlessly slow.
    expect(Buffer.from(decoded[0]!.bytes).equals(Buffer.from(big))).toBe(true);
    expect(summary).toEqual({ members: 1, memberBytes: big.length, streamBytes: 512 + big.length + 1024 });
  });

  it('fails with ENCODE_OUTPUT_CLOSED when the reader goes away', async () => {
    const out = new Writable({
      highWaterMark: 16,
      write(_chunk, _encoding, callback) {
        callback(new Error('EPIPE'));
      },
    });
    out.on('error', () => undefined);
    await expect(
      encodeUpdateStream([{ name: 'x.rpm', size: 100000, body: [new Uint8Array(100000)] }], out),
    ).rejects.toMatchObject({ code: 'ENCODE_OUTPUT_CLOSED' });
  });

  it('leaves the output open when asked, so the caller can keep using it', async () => {
    const out = new Capture();
    await encodeUpdateStream([{ name: 'x.rpm', size: 1, body: [text('x')] }], out, { end: false });
    expect(out.writableEnded).toBe(false);
    expect(await decodeAll(out.bytes)).toEqual([{ name: 'x.rpm', bytes: text('x') }]);
  });
});

describe('service version', () => {
  it('names the service call with its version argument', () => {
    expect(SERVICE_CALL).toBe('qubes.ReceiveUpdates+v1');
  });

  it('accepts only the v1 argument', () => {
    expect(checkServiceArgument('v1')).toBe('v1');
    for (const argument of [undefined, '', 'v2', 'V1', 'v1\n']) {
      expect(() => checkServiceArgument(argument)).toThrow(VersionError);
    }
  });
});

describe('encoder checks', () => {
  it('refuses names that differ only in letter case, lower case first', async () => {
    const out = new Capture();
    await expect(
      encodeUpdateStream(
        [
          { name: 'a.rpm', size: 1, body: [text('a')] },
          { name: 'A.rpm', size: 1, body: [text('A')] },
        ],
        out,
      ),
    ).rejects.toMatchObject({ code: 'ENCODE_DUPLICATE_NAME', member: 'A.rpm' });
    expect(out.bytes).toHaveLength(0);
  });

  it('refuses a file that holds more bytes than its size said (it grew)', async () => {
    // procfs files are regular files of size 0 that read as text: the extra byte check must see it
    const out = new Capture();
    await expect(encodeUpdateStream([{ name: 'x.rpm', path: '/proc/version' }], out)).rejects.toMatchObject({ code: 'ENCODE_SIZE_CHANGED' });
  });

  it('stops before writing any byte past the declared size', async () => {
    const out = new Capture();
    await expect(encodeUpdateStream([{ name: 'x.rpm', size: 2, body: [text('ab'), text('cdef')] }], out)).rejects.toMatchObject({
      code: 'ENCODE_SIZE_CHANGED',
    });
    expect(out.bytes).toHaveLength(512 + 2);
  });

  it('refuses a size beyond 11 octal digits with ENCODE_TOO_LARGE', async () => {
    const out = new Capture();
    await expect(encodeUpdateStream([{ name: 'x.rpm', size: 2 ** 33, body: [] }], out)).rejects.toMatchObject({ code: 'ENCODE_TOO_LARGE' });
    expect(out.bytes).toHaveLength(0);
  });

  it('refuses a file that shrinks after its header was written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gaps-'));
    const file = join(dir, 'x.rpm');
    writeFileSync(file, new Uint8Array(1000).fill(7));
    // the output truncates the file as soon as it is handed the header, before any body byte is read
    class Shrinking extends Capture {
      override _write(chunk: Uint8Array, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
        if (this.parts.length === 0) truncateSync(file, 10);
        super._write(chunk, encoding, callback);
      }
    }
    const out = new Shrinking();
    await expect(encodeUpdateStream([{ name: 'x.rpm', path: file }], out)).rejects.toMatchObject({ code: 'ENCODE_SIZE_CHANGED' });
    expect(out.bytes.length).toBeLessThan(512 + 1000);
  });

  it('writes nothing when the signal is already aborted', async () => {
    const out = new Capture();
    await expect(encodeUpdateStream([{ name: 'x.rpm', size: 1, body: [text('x')] }], out, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ENCODE_OUTPUT_CLOSED',
    });
    expect(out.bytes).toHaveLength(0);
  });
});
