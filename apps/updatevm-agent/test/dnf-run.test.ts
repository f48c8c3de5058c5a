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

const run = (path: string, args: readonly string[] = ['--version']): Promise<unknown> =>
  runDnf({ path, major: 4 }, args, workdirLayout(dir), DEFAULT_DNF_LIMITS, 'check', () => undefined);

/** A shell script standing in for dnf, with `mode`. */
async function fakeDnf(name: string, body: string, mode = 0o755): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}`);
  await chmod(path, mode);
  return path;
}

describe('runDnf under its memory limit', () => {
  it('says dnf disappeared when there is no dnf to execute (DNF_MISSING)', async () => {
    await expect(run(join(dir, 'gone', 'dnf'))).rejects.toMatchObject({ code: 'DNF_MISSING', message: expect.stringContaining('dnf disappeared') });
  });

  it('says dnf could not be run when it cannot be executed (DNF_SPAWN_FAILED), with the reason', async () => {
    const notExecutable = await fakeDnf('dnf', '', 0o644);
    await expect(run(notExecutable)).rejects.toMatchObject({ code: 'DNF_SPAWN_FAILED', message: expect.stringContaining('Permission denied') });
  });

  it('passes shell text in dnf\'s arguments through as it is, never to a shell', async () => {
    const fake = await fakeDnf('echo-dnf', 'for a in "$@"; do printf "%s|" "$a" >&2; done\n');
    const args = ['$(id)', '`id`', 'a; touch x', 'b\nc', '*', '-e', '"q"'];
    const result = (await run(fake, args)) as { stderr: string };
    expect(result.stderr).toBe(`${args.join('|')}|`);
  });

  it('takes a dnf that exits 125, 126 or 127 with words of its own as its own exit, not as the shell failing to start it', async () => {
    for (const code of [125, 126, 127]) {
      const fake = await fakeDnf(`exit-${String(code)}`, `echo 'Error: something' >&2\necho 'agent-dnf-limit: 1: exec: planted: not found' >&2\nexit ${String(code)}\n`);
      await expect(run(fake)).resolves.toMatchObject({ exitCode: code });
    }
  });

  it('calls a dnf that died on a failed allocation out of memory, by SIGABRT (libsolv) or SIGTRAP (GLib)', async () => {
    const cases = [
      ['ABRT', 'Out of memory allocating 4096*131072 bytes!'],
      ['TRAP', '(process:1): GLib-ERROR **: 10:00:00.000: gmem.c:106: failed to allocate 1073741824 bytes'],
    ];
    for (const [signal, words] of cases) {
      const fake = await fakeDnf(`oom-${signal ?? ''}`, `echo '${words ?? ''}' >&2\nkill -${signal ?? ''} $$\n`);
      await expect(run(fake)).rejects.toMatchObject({ code: 'DNF_OUT_OF_MEMORY' });
    }
  });

  it('runs dnf with its arguments under the memory limit, and gives its exit code', async () => {
    const fake = await fakeDnf('fake-dnf', 'echo "$# $1" >&2; ulimit -d >&2; ulimit -Hd >&2\nexit 3\n');
    const result = (await run(fake)) as { exitCode: number; stderr: string };
    expect(result.exitCode).toBe(3);
    // its own arguments, unchanged; the limit in KiB, soft and hard
    const kib = String(DEFAULT_DNF_LIMITS.maxMemoryBytes / 1024);
    expect(result.stderr.trim().split('\n')).toEqual(['1 --version', kib, kib]);
  });
});
