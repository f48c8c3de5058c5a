// runDnf starts dnf through prlimit, which execs it: a dnf prlimit cannot execute is named as
// dnf's failure to start, never as prlimit's.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DNF_LIMITS } from '../src/dnf/limits.ts';
import { runDnf } from '../src/dnf/run.ts';
import { workdirLayout } from '../src/installroot/paths.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dnf-run-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (path: string): Promise<unknown> =>
  runDnf({ path, major: 4, prlimit: '/usr/bin/prlimit' }, ['--version'], workdirLayout(dir), DEFAULT_DNF_LIMITS, 'check', () => undefined);

describe('runDnf through prlimit', () => {
  it('says dnf disappeared when prlimit finds no dnf to execute (DNF_MISSING)', async () => {
    await expect(run(join(dir, 'gone', 'dnf'))).rejects.toMatchObject({ code: 'DNF_MISSING', message: expect.stringContaining('dnf disappeared') });
  });

  it('says dnf could not be run when prlimit cannot execute it (DNF_SPAWN_FAILED), with the reason', async () => {
    const notExecutable = join(dir, 'dnf');
    await writeFile(notExecutable, '#!/bin/sh\n');
    await chmod(notExecutable, 0o644);
    await expect(run(notExecutable)).rejects.toMatchObject({ code: 'DNF_SPAWN_FAILED', message: expect.stringContaining('Permission denied') });
  });

  it('runs dnf under the memory limit, with its own exit code', async () => {
    const fake = join(dir, 'fake-dnf');
    await writeFile(fake, '#!/bin/sh\nprlimit --data --pid $$ --output SOFT --noheadings >&2\nexit 3\n');
    await chmod(fake, 0o755);
    const result = (await run(fake)) as { exitCode: number; stderr: string };
    expect(result.exitCode).toBe(3);
    expect(result.stderr.trim()).toBe(String(DEFAULT_DNF_LIMITS.maxMemoryBytes));
  });
});
