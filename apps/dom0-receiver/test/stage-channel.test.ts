import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { superviseStage, type StageLaunch } from '../src/receive/stage-process.ts';
import { ChannelError, jsonLineWriter, readFirstJsonLine, readJsonLines } from '../src/stage/channel.ts';
import { MAX_STAGE_MESSAGE_BYTES, parseStageMessage } from '../src/stage/messages.ts';
import { makeUpdatesDir } from './helpers.ts';

function collect(chunks: readonly (string | Buffer)[], maxLine: number): Promise<{ values: unknown[]; error: ChannelError | undefined; destroyed: boolean }> {
  const stream = new PassThrough();
  const values: unknown[] = [];
  let error: ChannelError | undefined;
  readJsonLines(stream, maxLine, (v) => values.push(v), (e) => (error = e));
  for (const chunk of chunks) if (!stream.destroyed) stream.write(chunk);
  stream.end();
  return new Promise((resolve) => setImmediate(() => resolve({ values, error, destroyed: stream.destroyed })));
}

describe('the stage channel reader', () => {
  it('reads one JSON value per line, however the lines are split into chunks', async () => {
    const text = '{"a":1}\n[2,3]\n"x\\ny"\n';
    for (const size of [1, 2, 5, text.length]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      const { values, error } = await collect(chunks, 64);
      expect(error).toBeUndefined();
      expect(values).toEqual([{ a: 1 }, [2, 3], 'x\ny']);
    }
  });

  it('stops at a line over the limit, with or without its newline, and stops reading', async () => {
    for (const chunks of [['{"a":"' + 'b'.repeat(100) + '"}\n'], Array.from({ length: 50 }, () => 'x'.repeat(10))]) {
      const { values, error, destroyed } = await collect(['1\n', ...chunks], 64);
      expect(values).toEqual([1]);
      expect(error?.code).toBe('STAGE_PROTOCOL');
      expect(error?.message).toContain('over 64 bytes');
      expect(destroyed).toBe(true);
    }
  });

  it('takes a line of exactly the limit', async () => {
    const line = `"${'z'.repeat(62)}"`;
    const { values, error } = await collect([line, '\n'], 64);
    expect(error).toBeUndefined();
    expect(values).toEqual(['z'.repeat(62)]);
  });

  it('refuses a line one byte over the limit', async () => {
    const { values, error } = await collect([`"${'z'.repeat(63)}"`, '\n'], 64);
    expect(values).toEqual([]);
    expect(error?.code).toBe('STAGE_PROTOCOL');
    expect(error?.message).toBe('sent a line over 64 bytes');
  });

  it('refuses a line that is not UTF-8 or not JSON, and reads nothing after it', async () => {
    for (const bad of [Buffer.from([0x22, 0xff, 0x22, 0x0a]), '{"a":\n', 'undefined\n']) {
      const { values, error } = await collect([bad, '2\n'], 64);
      expect(values).toEqual([]);
      expect(error?.message).toBe('sent a line that is not UTF-8 JSON');
    }
  });

  it('drops a partial line at the end (the writer died in the middle of it)', async () => {
    const { values, error } = await collect(['1\n{"half":'], 64);
    expect(error).toBeUndefined();
    expect(values).toEqual([1]);
  });
});

describe("the stage's side of the channel", () => {
  async function firstLine(content: string | Buffer, maxLine: number): Promise<unknown> {
    const file = join(await makeUpdatesDir(), 'channel');
    writeFileSync(file, content);
    const fd = openSync(file, 'r');
    try {
      return await readFirstJsonLine(fd, maxLine);
    } finally {
      closeSync(fd);
    }
  }

  it('reads the first line, long or short, and ignores what follows it', async () => {
    expect(await firstLine('{"a":1}\n{"b":2}\n', 16)).toEqual({ a: 1 });
    const long = 'k'.repeat(200_000);
    expect(await firstLine(`"${long}"\n`, 300_000)).toBe(long);
  });

  it('takes a first line of exactly the limit and refuses one a byte longer', async () => {
    expect(await firstLine(`"${'k'.repeat(14)}"\n`, 16)).toBe('k'.repeat(14));
    await expect(firstLine(`"${'k'.repeat(15)}"\n`, 16)).rejects.toMatchObject({ code: 'STAGE_PROTOCOL', message: 'sent a line over 16 bytes' });
  });

  it('refuses a first line over the limit, one that never ends, and one that is not JSON', async () => {
    await expect(firstLine(`"${'k'.repeat(200_000)}"\n`, 100_000)).rejects.toThrow('sent a line over 100000 bytes');
    await expect(firstLine('{"a":1}', 16)).rejects.toThrow('the channel ended before a whole line');
    await expect(firstLine(Buffer.from([0x22, 0xc3, 0x22, 0x0a]), 16)).rejects.toThrow('sent a line that is not UTF-8 JSON');
  });

  it('writes each value as one whole line, in call order, however the calls overlap', async () => {
    const file = join(await makeUpdatesDir(), 'channel');
    const fd = openSync(file, 'w');
    try {
      const send = jsonLineWriter(fd);
      const values = Array.from({ length: 50 }, (_, i) => ({ i, text: `line\n${'x'.repeat(i * 1000)}` }));
      await Promise.all(values.map((v) => send(v)));
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(values);
    } finally {
      closeSync(fd);
    }
  });
});

const launch: StageLaunch = {
  bundlePath: '/nonexistent',
  stagingDir: '/nonexistent',
  owner: undefined,
  sandbox: { kind: 'none' },
  config: { limits: { maxMembers: 3, maxMemberBytes: 100, maxTotalBytes: 250, idleTimeoutMs: 1000, overallTimeoutMs: 1000 }, armoredKeys: ['k'], now: '2024-01-01T00:00:00.000Z' },
  pinnedFingerprints: ['a'.repeat(40)],
  killAfterMs: 60_000,
};

const accepted = (i: number, overrides: { size?: number; fingerprint?: string } = {}): string =>
  JSON.stringify({
    kind: 'accepted',
    package: {
      file: `p${i}-1-1.noarch.rpm`,
      nevra: { name: `p${i}`, epoch: 0, version: '1', release: '1', arch: 'noarch' },
      nevraString: `p${i}-1-1.noarch`,
      sha256: '0'.repeat(64),
      size: overrides.size ?? 1,
      signer: { fingerprint: overrides.fingerprint ?? 'a'.repeat(40) },
    },
    cacheKey: null,
  });

/** Runs `script` as a stage that writes to its channel (fd 3) whatever it likes. */
function hostileStage(script: string): Promise<unknown> {
  const child = spawn(process.execPath, ['-e', `const fs = require('node:fs'); ${script}`], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  return superviseStage(child, launch, 'hostile stage').then(
    (outcome) => ({ outcome, code: undefined as string | undefined, message: '' }),
    (error: unknown) => ({ outcome: undefined, code: (error as { code: string }).code, message: (error as Error).message }),
  );
}

describe('a compromised stage', () => {
  it('cannot grow the receiver by sending an endless line: it is stopped at the line limit', async () => {
    // 256 MiB without a newline, as fast as the pipe takes it; the child is killed well before
    const result = await hostileStage(`
      fs.writeSync(3, '{"kind":"ready"}\\n{"kind":"x","pad":"');
      const chunk = Buffer.alloc(1 << 20, 0x61);
      for (let i = 0; i < 256; i++) { try { fs.writeSync(3, chunk); } catch (e) { if (e.code !== 'EAGAIN') throw e; i--; } }
    `);
    expect(result).toMatchObject({ code: 'STAGE_PROTOCOL', message: `the stage broke its reporting contract: sent a line over ${MAX_STAGE_MESSAGE_BYTES} bytes` });
  });

  it('cannot send a line over 64 KiB, even a rejection whose message the receiver would cut', async () => {
    const line = JSON.stringify({ kind: 'rejected', rejection: { code: 'TAR_BAD', member: null, message: 'm'.repeat(65 * 1024) } });
    const result = await hostileStage(`fs.writeSync(3, ${JSON.stringify(`{"kind":"ready"}\n${line}\n`)}); setTimeout(() => {}, 5000);`);
    expect(result).toMatchObject({ code: 'STAGE_PROTOCOL', message: 'the stage broke its reporting contract: sent a line over 65536 bytes' });
  });

  it('cannot report more accepted packages than the member limit', async () => {
    const lines = ['{"kind":"ready"}', ...[0, 1, 2, 3].map((i) => accepted(i)), '{"kind":"complete","members":4}'];
    const result = await hostileStage(`fs.writeSync(3, ${JSON.stringify(lines.join('\n') + '\n')}); setTimeout(() => {}, 5000);`);
    expect(result).toMatchObject({ code: 'STAGE_PROTOCOL', message: 'the stage broke its reporting contract: accepted more packages than the 3 members allowed' });
  });

  it.each([
    ['a package signed by a key dom0 does not pin', [accepted(0, { fingerprint: 'b'.repeat(40) })], `accepted p0-1-1.noarch.rpm signed by ${'b'.repeat(40)}, which is not a pinned key`],
    ['a package over the member byte limit', [accepted(0, { size: 101 })], 'accepted p0-1-1.noarch.rpm of 101 bytes, over the limit of 100'],
    ['packages over the total byte limit', [accepted(0, { size: 100 }), accepted(1, { size: 100 }), accepted(2, { size: 51 })], 'accepted 251 bytes in all, over the limit of 250'],
  ])('cannot report %s as verified', async (_what, lines, reason) => {
    const text = ['{"kind":"ready"}', ...lines, `{"kind":"complete","members":${lines.length}}`].join('\n') + '\n';
    const result = await hostileStage(`fs.writeSync(3, ${JSON.stringify(text)}); setTimeout(() => {}, 5000);`);
    expect(result).toMatchObject({ code: 'STAGE_PROTOCOL', message: `the stage broke its reporting contract: ${reason}` });
  });

  it.each([
    ['report ready twice', ['{"kind":"ready"}', '{"kind":"ready"}', accepted(0), '{"kind":"complete","members":1}'], 'reported ready twice'],
    ['report a package before ready', [accepted(0), '{"kind":"ready"}', '{"kind":"complete","members":1}'], 'sent accepted before ready'],
    ['report a package after its final verdict', ['{"kind":"ready"}', accepted(0), '{"kind":"complete","members":1}', accepted(1)], 'message after the final one'],
    ['count more members than the packages it reported', ['{"kind":"ready"}', accepted(0), '{"kind":"complete","members":2}'], 'reported 2 members but accepted 1'],
  ])('cannot %s', async (_what, lines, reason) => {
    const result = await hostileStage(`fs.writeSync(3, ${JSON.stringify(lines.join('\n') + '\n')});`);
    expect(result).toMatchObject({ code: 'STAGE_PROTOCOL', message: `the stage broke its reporting contract: ${reason}` });
  });

  it('cannot report a package under a file name its verified header does not give', async () => {
    const misnamed = JSON.parse(accepted(0)) as { package: { file: string } };
    misnamed.package.file = 'p1-1-1.noarch.rpm';
    const lines = ['{"kind":"ready"}', JSON.stringify(misnamed), '{"kind":"complete","members":1}'];
    const result = await hostileStage(`fs.writeSync(3, ${JSON.stringify(lines.join('\n') + '\n')});`);
    expect(result).toMatchObject({ code: 'RPM_FILE_NAME_MISMATCH', message: expect.stringContaining('the file name must be p0-1-1.noarch.rpm') as unknown });
  });

  it('is not taken at its word when it reports success and then exits non-zero', async () => {
    const lines = ['{"kind":"ready"}', accepted(0), '{"kind":"complete","members":1}'];
    const result = await hostileStage(`fs.writeSync(3, ${JSON.stringify(lines.join('\n') + '\n')}); process.exitCode = 3;`);
    expect(result).toMatchObject({ code: 'STAGE_FAILED', message: 'the stage reported success but exited with 3' });
  });

  it('does not keep the receiver waiting on a process it left holding its stderr and channel', async () => {
    // the stage exits at once; the process it started keeps fds 2 and 3 open for a minute
    const child = spawn('sh', ['-c', 'sleep 60 & exit 0'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: true });
    try {
      const result = await superviseStage(child, launch, 'hostile stage').then(
        () => 'resolved',
        (error: unknown) => (error as { code: string }).code,
      );
      expect(result).toBe('STAGE_START_FAILED');
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }
  }, 20_000);

  it('gives its verdict when it exits after reporting complete but leaves a process holding its pipes', async () => {
    const lines = ['{"kind":"ready"}', accepted(0), '{"kind":"complete","members":1}'];
    const script = `fs.writeSync(3, ${JSON.stringify(lines.join('\n') + '\n')}); require('node:child_process').spawn('sleep', ['60'], { stdio: ['ignore', 'ignore', 2, 3], detached: false }).unref();`;
    const child = spawn(process.execPath, ['-e', `const fs = require('node:fs'); ${script}`], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: true });
    try {
      const outcome = await superviseStage(child, launch, 'hostile stage');
      if (outcome.kind !== 'complete') throw new Error(`expected a complete verdict, got ${outcome.kind}`);
      expect(outcome.accepted.map((p) => p.file)).toEqual(['p0-1-1.noarch.rpm']);
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }
  }, 20_000);

  it('is heard out when it keeps to the contract: the verdict is its accepted packages', async () => {
    const lines = ['{"kind":"ready"}', ...[0, 1, 2].map((i) => accepted(i)), '{"kind":"complete","members":3}'];
    const result = (await hostileStage(`fs.writeSync(3, ${JSON.stringify(lines.join('\n') + '\n')});`)) as { outcome: { kind: string; accepted: { file: string }[] } };
    expect(result.outcome.kind).toBe('complete');
    expect(result.outcome.accepted.map((p) => p.file)).toEqual(['p0-1-1.noarch.rpm', 'p1-1-1.noarch.rpm', 'p2-1-1.noarch.rpm']);
  });
});

describe("the receiver's reading of a stage message", () => {
  const message = (edit: (m: { kind: string; package: Record<string, unknown> & { signer: Record<string, unknown> } }) => void): unknown => {
    const m = JSON.parse(accepted(0)) as { kind: string; package: Record<string, unknown> & { signer: Record<string, unknown> } };
    edit(m);
    return m;
  };

  it('takes a well-formed accepted package', () => {
    expect(parseStageMessage(JSON.parse(accepted(0)))).toMatchObject({ kind: 'accepted', package: { file: 'p0-1-1.noarch.rpm' } });
  });

  it.each([
    ['a field the contract does not have', message((m) => (m.package['mode'] = 0o4755)), 'package has unexpected field mode'],
    ['a file name that leaves the staging dir', message((m) => (m.package['file'] = '../p0-1-1.noarch.rpm')), 'package.file is malformed'],
    ['a file name that is not an rpm member name', message((m) => (m.package['file'] = '.p0-1-1.noarch.rpm')), 'package.file is malformed'],
    ['a fingerprint of another length', message((m) => (m.package.signer['fingerprint'] = 'a'.repeat(41))), 'signer.fingerprint is malformed'],
    ['an upper-case sha256', message((m) => (m.package['sha256'] = 'A'.repeat(64))), 'package.sha256 is malformed'],
    ['a negative size', message((m) => (m.package['size'] = -1)), 'package.size is not a count'],
    ['a negative member count', { kind: 'complete', members: -1 }, 'members is not a count'],
    ['a ready with fields', { kind: 'ready', members: 1 }, 'ready carries fields'],
    ['a rejection code carrying terminal controls', { kind: 'rejected', rejection: { code: 'TAR_X\u001b[2J', member: null, message: 'm' } }, 'rejection.code is malformed'],
    ['a rejection code over 64 characters', { kind: 'rejected', rejection: { code: 'A'.repeat(65), member: null, message: 'm' } }, 'rejection.code is malformed'],
  ])('refuses %s as STAGE_PROTOCOL', (_what, value, reason) => {
    expect(() => parseStageMessage(value)).toThrow(expect.objectContaining({ code: 'STAGE_PROTOCOL', message: reason }) as Error);
  });
});
