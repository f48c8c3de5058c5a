import { chmod, copyFile, mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReply } from '@dom0-updates/protocol';
import { describe, expect, it } from 'vitest';
import { BUNDLE, encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, readResult, replyError, runReceiver } from './helpers.ts';

/** The bundle copied into a fresh 0700 directory that only root can traverse. */
async function privateBundle(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dom0-receiver-private-'));
  await chmod(dir, 0o700);
  const bundle = join(dir, 'dom0-receiver.mjs');
  await copyFile(BUNDLE, bundle);
  return bundle;
}

describe('a bundle installed where the stage user cannot reach it', () => {
  it.each([['none'], ['bwrap']] as const)('receives and publishes a real batch from a 0700 directory (--sandbox %s)', async (sandbox) => {
    const f = await getFixtures();
    const bundle = await privateBundle();
    expect((await stat(join(bundle, '..'))).mode & 0o777).toBe(0o700);
    const dir = await makeUpdatesDir();
    const pkgs = f.packages.v2;
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs()), '--sandbox', sandbox], {
      stdin: await encodeStream(await Promise.all(pkgs.map((p) => fileMember(p.path)))),
      bundle,
    });
    expect(run.stderr).toContain('published generation');
    expect(run.code).toBe(0);
    expect(parseReply(Buffer.from(run.stdout)).packages.map((p) => p.file).sort()).toEqual(pkgs.map((p) => p.fileName).sort());
    expect((await readdir(join(dir, 'repo'))).filter((n) => n.endsWith('.rpm')).sort()).toEqual(pkgs.map((p) => p.fileName).sort());
    expect(await leftovers(dir)).toEqual([]);
  });
});

describe('a stage that cannot start', () => {
  it('refuses an explicit --sandbox bwrap when bwrap is not installed, before reading anything', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs()), '--sandbox', 'bwrap'], {
      stdin: await encodeStream([]),
      env: { PATH: '/nonexistent' },
    });
    expect(run.code).toBe(1);
    const error = replyError(run);
    expect(error.code).toBe('CONFIG_INVALID');
    // dom0's own failure: the reason stays in dom0, the sender gets the code
    expect(error.message).toBe("dom0 could not take the batch; the reason is in dom0's log");
    expect(run.stderr).toContain('bwrap is not installed');
    expect(await readdir(dir)).toEqual([]);
  });

  it('is reported as STAGE_START_FAILED with the first error line the child printed', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'dom0-receiver-fakebin-'));
    await chmod(bin, 0o755);
    // a sandbox tool that fails the way bwrap does without user namespaces
    await writeFile(join(bin, 'bwrap'), '#!/bin/sh\necho "bwrap: No permissions to creating new namespace" >&2\nexit 1\n', { mode: 0o755 });
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs()), '--sandbox', 'bwrap'], {
      stdin: await encodeStream([]),
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    expect(run.code).toBe(1);
    const error = replyError(run);
    expect(error.code).toBe('STAGE_START_FAILED');
    expect(error.message).not.toContain('bwrap');
    expect(run.stderr).not.toContain('without a verdict');
    expect((await readResult(dir))['rejection']).toMatchObject({
      code: 'STAGE_START_FAILED',
      message: 'the stage did not start (exit 1, signal null): bwrap: No permissions to creating new namespace',
    });
    expect(await leftovers(dir)).toEqual([]);
  });
});
