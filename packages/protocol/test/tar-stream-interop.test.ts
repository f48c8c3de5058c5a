// tar-stream is an independent tar implementation: what our encoders write must read back through
// its extractor with the same names, sizes, types and bytes (a cross-check beside GNU tar).
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { encodeStateSync, encodeUpdateStream, PROTOCOL_VERSION } from '../src/index.ts';
import { Capture } from './helpers.ts';

interface Read {
  name: string;
  type: string;
  size: number;
  bytes: Buffer;
}

async function readWithTarStream(bytes: Uint8Array): Promise<Read[]> {
  const out: Read[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.push({ name: header.name, type: header.type ?? 'file', size: header.size ?? -1, bytes: Buffer.concat(chunks) });
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([Buffer.from(bytes)]).pipe(ex);
  await done;
  return out;
}

const memberName = fc
  .tuple(fc.stringMatching(/^[A-Za-z0-9]$/), fc.stringMatching(/^[A-Za-z0-9._+^~-]{0,40}$/))
  .map(([a, b]) => `${a}${b}.rpm`);

describe('interoperability with tar-stream', () => {
  it('reads every update stream the encoder writes back to the same members', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(memberName, fc.uint8Array({ maxLength: 3000 })), {
          maxLength: 6,
          selector: ([name]) => name.toLowerCase(),
        }),
        async (members) => {
          const out = new Capture();
          await encodeUpdateStream(
            members.map(([name, body]) => ({ name, size: body.length, body: [body] })),
            out,
          );
          const read = await readWithTarStream(out.bytes);
          expect(read.map((r) => r.name)).toEqual(members.map(([name]) => name));
          for (const [i, [, body]] of members.entries()) {
            expect(read[i]?.type).toBe('file');
            expect(read[i]?.size).toBe(body.length);
            expect(read[i]?.bytes.equals(Buffer.from(body))).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads the state-sync stream with request.json first', async () => {
    const out = new Capture();
    const rpmdb = Buffer.from('not really sqlite');
    await encodeStateSync(
      { protocol: PROTOCOL_VERSION, action: 'upgrade', packages: [], enableRepos: [], disableRepos: [], clean: false, dnfOptions: [] },
      [{ name: 'rpmdb/rpmdb.sqlite', size: rpmdb.length, body: [rpmdb] }],
      out,
    );
    const read = await readWithTarStream(out.bytes);
    expect(read.map((r) => r.name)).toEqual(['request.json', 'rpmdb/rpmdb.sqlite']);
    expect(JSON.parse(read[0]?.bytes.toString('utf8') ?? '')).toMatchObject({ protocol: PROTOCOL_VERSION, action: 'upgrade' });
    expect(read[1]?.bytes.equals(rpmdb)).toBe(true);
  });
});
