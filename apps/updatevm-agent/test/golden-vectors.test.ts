// The protocol's checked-in golden vectors, seen from the UpdateVM's side: dom0's reply vectors
// read as dom0 meant them, and the golden state-sync stream lays out an installroot.
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RejectedError } from '../src/errors.ts';
import { interpretReply } from '../src/transport/reply.ts';
import { agent } from './support/world.ts';

const VECTORS = join(import.meta.dirname, '..', '..', '..', 'packages', 'protocol', 'test', 'vectors');

describe('the protocol golden vectors', () => {
  it('reads the accepted reply vector as the packages dom0 accepted', async () => {
    const reply = await readFile(join(VECTORS, 'reply-accepted.jsonl'));
    const packages = interpretReply({ reply, exitCode: 0, stderr: '' });
    expect(packages).toEqual([
      {
        file: 'hello-1.0-1.noarch.rpm',
        nevra: 'hello-1.0-1.noarch',
        sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03',
        signer: '0123456789abcdef0123456789abcdef01234567',
      },
    ]);
  });

  it('reads the rejected reply vector as a rejection naming the member and the code', async () => {
    const reply = await readFile(join(VECTORS, 'reply-rejected.jsonl'));
    let caught: unknown;
    try {
      interpretReply({ reply, exitCode: 1, stderr: '' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RejectedError);
    expect((caught as Error).message).toContain('x.rpm');
    expect((caught as RejectedError).code).toBe('TAR_LINK_MEMBER');
  });

  it('decodes the golden state-sync stream, then refuses its placeholder rpm database by name, leaving no root', async () => {
    // The vector's rpmdb.sqlite is a few placeholder bytes: the stream is valid, the database is not.
    const workdir = await mkdtemp(join(tmpdir(), 'agent-golden-'));
    const run = await agent(['sync-state', '--workdir', workdir], { input: await readFile(join(VECTORS, 'state-sync-basic.tar')) });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('[RPMDB_UNREADABLE]');
    expect(run.stderr).not.toMatch(/TAR_|STATE_/);
    expect(await readdir(workdir)).not.toContain('root');
  });
});
