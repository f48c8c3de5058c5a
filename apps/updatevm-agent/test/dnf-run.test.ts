// runDnf starts dnf through a fixed shell script that sets its memory limit and execs it: a dnf
// the shell cannot execute is named as dnf's failure to start, never as the shell's.
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
  runDnf({ path, major: 4 }, ['--version'], workdirLayout(dir), DEFAULT_DNF_LIMITS, 'check', () => undefined);

describe('runDnf under its memory limit', () => {
  it('says dnf disappeared when there is no dnf to execute (DNF_MISSING)', async () => {
    await expect(run(join(dir, 'gone', 'dnf'))).rejects.toMatchObject({ code: 'DNF_MISSING', message: expect.stringContaining('dnf disappeared') });
  });

  it('says dnf could not be run when it cannot be executed (DNF_SPAWN_FAILED), with the reason', async () => {
    const notExecutable = join(dir, 'dnf');
    await writeFile(notExecutable, '#!/bin/sh\n');
    await chmod(notExecutable, 0o644);
    await expect(run(notExecutable)).rejects.toMatchObject({ code: 'DNF_SPAWN_FAILED', message: expect.stringContaining('Permission denied') });
  });

  it('passes shell text in dnf\'s arguments through as it is, never to a shell', async () => {
    const fake = join(dir, 'echo-dnf');
    await writeFile(fake, '#!/bin/sh\nfor a in "$@"; do printf "%s|" "$a" >&2; done\n');
    await chmod(fake, 0o755);
    const args = ['$(id)', '`id`', 'a; touch x', 'b\nc', '*', '-e', '"q"'];
    const result = (await runDnf({ path: fake, major: 4 }, args, workdirLayout(dir), DEFAULT_DNF_LIMITS, 'check', () => undefined)) as { stderr: string };
    expect(result.stderr).toBe(`${args.join('|')}|`);
  });

  it('takes a dnf that exits 125, 126 or 127 with words of its own as its own exit, not as the shell failing to start it', async () => {
    for (const code of [125, 126, 127]) {
      const fake = join(dir, `exit-${String(code)}`);
      await writeFile(fake, `#!/bin/sh\necho 'Error: something' >&2\necho 'agent-dnf-limit: 1: exec: planted: not found' >&2\nexit ${String(code)}\n`);
      await chmod(fake, 0o755);
      await expect(run(fake)).resolves.toMatchObject({ exitCode: code });
    }
  });

  it('calls a dnf that died on a failed allocation out of memory, by SIGABRT (libsolv) or SIGTRAP (GLib)', async () => {
    const cases = [
      ['ABRT', 'Out of memory allocating 4096*131072 bytes!'],
      ['TRAP', '(process:1): GLib-ERROR **: 10:00:00.000: gmem.c:106: failed to allocate 1073741824 bytes'],
    ];
    for (const [signal, words] of cases) {
      const fake = join(dir, `oom-${signal ?? ''}`);
      await writeFile(fake, `#!/bin/sh\necho '${words ?? ''}' >&2\nkill -${signal ?? ''} $$\n`);
      await chmod(fake, 0o755);
      await expect(run(fake)).rejects.toMatchObject({ code: 'DNF_OUT_OF_MEMORY' });
    }
  });

  it('runs dnf with its arguments under the memory limit, and gives its exit code', async () => {
    const fake = join(dir, 'fake-dnf');
    await writeFile(fake, '#!/bin/sh\necho "$# $1" >&2; ulimit -d >&2; ulimit -Hd >&2\nexit 3\n');
    await chmod(fake, 0o755);
    const result = (await run(fake)) as { exitCode: number; stderr: string };
    expect(result.exitCode).toBe(3);
    // its own arguments, unchanged; the limit in KiB, soft and hard
    const kib = String(DEFAULT_DNF_LIMITS.maxMemoryBytes / 1024);
    expect(result.stderr.trim().split('\n')).toEqual(['1 --version', kib, kib]);
  });
});
