// A state stream from dom0 that stops early is refused with the decoder's own code, wherever the
// cut falls: inside a file's body as well as between files.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeState } from './support/stream.ts';
import { agent } from './support/world.ts';

const RPMDB = 'rpmdb/rpmdb.sqlite';

/** A stream with one rpmdb file of 8 KiB; returns it with the offset where that file's body starts. */
async function oneFileStream(): Promise<{ stream: Buffer; bodyStart: number; bodyEnd: number }> {
  const bytes = Buffer.alloc(8192, 0x5a);
  const stream = await encodeState({}, [{ name: RPMDB, bytes }]);
  // the header's name field comes first, so the name's offset is the header's
  const header = stream.indexOf(RPMDB);
  return { stream, bodyStart: header + 512, bodyEnd: header + 512 + bytes.length };
}

async function syncFrom(input: Buffer): Promise<{ exitCode: number | undefined; stderr: string; roots: string[] }> {
  const workdir = await mkdtemp(join(tmpdir(), 'agent-cut-'));
  const run = await agent(['sync-state', '--workdir', workdir], { input });
  const roots = (await readdir(workdir)).filter((n) => n.startsWith('root'));
  return { exitCode: run.exitCode, stderr: run.stderr, roots };
}

describe('a state stream cut short', () => {
  it('inside a file is refused as TAR_TRUNCATED naming the file, not as an internal error', async () => {
    const { stream, bodyStart } = await oneFileStream();
    const run = await syncFrom(stream.subarray(0, bodyStart + 1000));
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `updatevm-agent: error: dom0's state stream was refused: member ${RPMDB}: the stream ends inside the body, 7192 bytes short [TAR_TRUNCATED]`,
    );
    expect(run.roots).toEqual([]);
  });

  it('at the end of a file is refused as TAR_MISSING_END', async () => {
    const { stream, bodyEnd } = await oneFileStream();
    const run = await syncFrom(stream.subarray(0, bodyEnd));
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^updatevm-agent: error: dom0's state stream was refused: .*\[TAR_MISSING_END\]$/);
    expect(run.roots).toEqual([]);
  });
});
