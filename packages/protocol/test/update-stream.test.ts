import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EncodeError, encodeUpdateStream } from '../src/index.ts';
import { Capture, decodeAll, text } from './helpers.ts';

async function encode(members: { name: string; bytes: Uint8Array }[]): Promise<Uint8Array> {
  const out = new Capture();
  await encodeUpdateStream(
    members.map((m) => ({ name: m.name, size: m.bytes.length, body: [m.bytes] })),
    out,
  );
  return out.bytes;
}

describe('update stream', () => {
  it('round-trips members through the encoder and the strict decoder', async () => {
    const members = [
      { name: 'a-1.0-1.noarch.rpm', bytes: text('hello') },
      { name: 'empty.rpm', bytes: new Uint8Array(0) },
      { name: 'block.rpm', bytes: new Uint8Array(512).fill(7) },
    ];
    const bytes = await encode(members);
    expect(bytes.length % 512).toBe(0);
    for (const chunkSize of [1, 7, 512, 100000]) {
      const decoded = await decodeAll(bytes, undefined, chunkSize);
      expect(decoded).toEqual(members);
    }
  });

  it('decodes an archive written by GNU tar --format=ustar', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proto-'));
    writeFileSync(join(dir, 'x-1.rpm'), 'abc');
    writeFileSync(join(dir, 'y-2.rpm'), new Uint8Array(1500).fill(1));
    execFileSync('tar', ['--format=ustar', '-C', dir, '-cf', join(dir, 'out.tar'), 'x-1.rpm', 'y-2.rpm']);
    const decoded = await decodeAll(readFileSync(join(dir, 'out.tar')));
    expect(decoded.map((m) => [m.name, m.bytes.length])).toEqual([
      ['x-1.rpm', 3],
      ['y-2.rpm', 1500],
    ]);
  });

  it('writes files from disk that GNU tar lists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proto-'));
    writeFileSync(join(dir, 'p.rpm'), new Uint8Array(70000).fill(3));
    const out = new Capture();
    await encodeUpdateStream([{ name: 'p.rpm', path: join(dir, 'p.rpm') }], out);
    writeFileSync(join(dir, 'out.tar'), out.bytes);
    const listing = execFileSync('tar', ['-tvf', join(dir, 'out.tar')], { encoding: 'utf8' });
    expect(listing).toMatch(/^-rw-r--r-- 0\/0 +70000 1970-01-01 00:00 p\.rpm\n$/);
    expect((await decodeAll(out.bytes))[0]?.bytes).toEqual(new Uint8Array(70000).fill(3));
  });

  it('refuses to encode a name outside the rule', async () => {
    await expect(encode([{ name: '../x.rpm', bytes: text('x') }])).rejects.toMatchObject({
      code: 'ENCODE_BAD_NAME',
    });
    await expect(encode([{ name: 'x.rpm', bytes: text('x') }])).resolves.toBeInstanceOf(Uint8Array);
    await expect(encode([{ name: 'a.txt', bytes: text('x') }])).rejects.toBeInstanceOf(EncodeError);
  });
});
