import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeState } from './support/stream.ts';
import { BUNDLE, makeWorld, syncedWorkdir, type World } from './support/world.ts';

let world: World;
let fakeBin: string;

/**
 * A dnf that starts a download into this run's directory and then hangs, writing its pid where
 * the test can see it: the agent must stop it and remove the directory.
 */
const HANGING_DNF = `#!/bin/sh
if [ "$1" = "--version" ]; then echo 4.14.0; exit 0; fi
for a in "$@"; do case "$a" in --downloaddir=*) d=\${a#--downloaddir=};; esac; done
echo "Downloading Packages:"
echo partial > "$d/half-downloaded.rpm"
echo $$ > "$MARK.tmp" && mv "$MARK.tmp" "$MARK"
exec sleep 120
`;

/** The same, deaf to SIGTERM (an ignored signal stays ignored across exec): only SIGKILL ends it. */
const STUBBORN_DNF = HANGING_DNF.replace('#!/bin/sh\n', '#!/bin/sh\ntrap "" TERM INT HUP\n');

let stubbornBin: string;

/** Bytes on disk a heartbeat (3 s) before dnf says it is downloading: they must still be reported. */
const LATE_LINE_DNF = HANGING_DNF.replace('echo "Downloading Packages:"\n', '').replace('exec sleep 120', 'sleep 4\necho "Downloading Packages:"\nexec sleep 120');
let lateLineBin: string;

beforeAll(async () => {
  world = await makeWorld();
  fakeBin = join(world.dir, 'hanging-bin');
  stubbornBin = join(world.dir, 'stubborn-bin');
  lateLineBin = join(world.dir, 'late-line-bin');
  for (const [dir, script] of [[fakeBin, HANGING_DNF], [stubbornBin, STUBBORN_DNF], [lateLineBin, LATE_LINE_DNF]] as const) {
    await mkdir(dir);
    await writeFile(join(dir, 'dnf'), script);
    await chmod(join(dir, 'dnf'), 0o755);
    // the default transport must be there before dnf starts (it is never reached here)
    await writeFile(join(dir, 'qrexec-client-vm'), '#!/bin/sh\nexit 125\n');
    await chmod(join(dir, 'qrexec-client-vm'), 0o755);
  }
});

afterAll(async () => {
  await world.close();
});

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const readPid = async (file: string): Promise<number | undefined> => {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : Number(text.trim());
};

/**
 * Whether the process catches these signals (the kernel's SigCgt mask). Node itself catches SIGINT
 * and SIGTERM from its start (to restore the terminal, then die by the signal), so only SIGHUP,
 * which the agent's handlers take first and together with the others, says they are in place.
 */
const catches = async (pid: number, signals: readonly number[]): Promise<true | undefined> => {
  const status = await readFile(`/proc/${String(pid)}/status`, 'utf8').catch(() => '');
  const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (mask === undefined) return undefined;
  const caught = BigInt(`0x${mask}`);
  return signals.every((n) => (caught >> BigInt(n - 1)) & 1n) ? true : undefined;
};

/** The agent bundle as a running process, its output collected as it comes. */
function startAgent(args: readonly string[], options: { mark?: string; stdin?: 'pipe' | 'ignore'; bin?: string } = {}) {
  const child = spawn(process.execPath, [BUNDLE, ...args], {
    env: { PATH: `${options.bin ?? fakeBin}:${process.env['PATH'] ?? ''}`, ...(options.mark === undefined ? {} : { MARK: options.mark }) },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (c: Buffer) => (out.stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { child, out, exited, lastEvent: (): unknown => JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') };
}

describe('a stopped run', () => {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`stops dnf, removes its download directory and exits ${code} on ${signal}`, async () => {
      const workdir = await syncedWorkdir(world, `signal-${signal}`);
      const mark = join(world.dir, `dnf-${signal}.pid`);
      const { child, out, exited, lastEvent } = startAgent(['download', '--workdir', workdir, '--json-progress'], { mark });
      const dnfPid = await waitFor(() => readPid(mark), 'the fake dnf');
      expect(await readdir(join(workdir, 'runs'))).toHaveLength(1);

      child.kill(signal);
      expect(await exited).toBe(code);
      expect(out.stderr).toContain(`stopped by ${signal} [INTERRUPTED]`);
      expect(lastEvent()).toMatchObject({ stage: 'done', result: 'error', code: 'INTERRUPTED' });
      expect(await readdir(join(workdir, 'runs'))).toEqual([]);
      await waitFor(() => (alive(dnfPid) ? undefined : true), 'dnf to end', 5000);
    });
  }

  it('kills a dnf deaf to SIGTERM when a second signal ends the run at once', async () => {
    const workdir = await syncedWorkdir(world, 'stubborn-twice');
    const mark = join(world.dir, 'dnf-stubborn-twice.pid');
    const { child, out, exited } = startAgent(['download', '--workdir', workdir], { mark, bin: stubbornBin });
    const dnfPid = await waitFor(() => readPid(mark), 'the fake dnf');
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(out.stderr).toContain('stopped before the run could unwind');
    await waitFor(() => (alive(dnfPid) ? undefined : true), 'dnf to be killed', 5000);
    expect(await readdir(join(workdir, 'runs'))).toEqual([]);
  });

  for (const [what, bin] of [['', () => fakeBin], [' and its dnf deaf to SIGTERM', () => stubbornBin]] as const) {
    it(`stops by itself when the process that started it is killed${what}, leaving nothing behind`, async () => {
      await orphanedRun(bin());
    });
  }

  async function orphanedRun(bin: string): Promise<void> {
    const name = bin === fakeBin ? 'orphan' : 'orphan-stubborn';
    const workdir = await syncedWorkdir(world, name);
    const mark = join(world.dir, `dnf-${name}.pid`);
    const agentPidFile = join(world.dir, `agent-${name}.pid`);
    // a stand-in for dom0-update: starts the agent, then is killed with SIGKILL and cannot stop it
    const parent = spawn(
      'sh',
      ['-c', `"${process.execPath}" "${BUNDLE}" download --workdir "${workdir}" >/dev/null 2>&1 & echo $! > "${agentPidFile}.tmp"; mv "${agentPidFile}.tmp" "${agentPidFile}"; wait`],
      { env: { PATH: `${bin}:${process.env['PATH'] ?? ''}`, MARK: mark }, stdio: 'ignore' },
    );
    const agentPid = await waitFor(() => readPid(agentPidFile), 'the agent');
    const dnfPid = await waitFor(() => readPid(mark), 'the fake dnf');
    parent.kill('SIGKILL');

    await waitFor(() => (alive(agentPid) ? undefined : true), 'the orphaned agent to stop', 15_000);
    await waitFor(() => (alive(dnfPid) ? undefined : true), 'its dnf to end', 5000);
    expect(await readdir(join(workdir, 'runs'))).toEqual([]);
  }

  for (const [what, name, bin] of [
    ['the bytes downloaded so far while a package is still downloading', 'heartbeat', () => fakeBin],
    ['bytes that were on disk before dnf said it was downloading', 'heartbeat-late', () => lateLineBin],
  ] as const) {
    it(`reports ${what}`, async () => {
      const workdir = await syncedWorkdir(world, name);
      const mark = join(world.dir, `dnf-${name}.pid`);
      const { child, out, exited } = startAgent(['download', '--workdir', workdir, '--json-progress'], { mark, bin: bin() });
      const line = await waitFor(
        () => out.stdout.split('\n').find((l) => l.includes('"bytes"')),
        'a download event with the bytes so far',
        15_000,
      );
      // "partial\n" from the stand-in dnf, no package finished yet
      expect(JSON.parse(line)).toEqual({ stage: 'download', done: 0, total: null, percent: null, bytes: 8 });
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
    });
  }

  it('stops at once while it still waits for dom0\'s state stream', async () => {
    const workdir = join(world.dir, 'state-wait');
    const { child, out, exited, lastEvent } = startAgent(['sync-state', '--workdir', workdir, '--json-progress'], { stdin: 'pipe' });
    // half a tar header of the state stream, then nothing: the agent is waiting for the rest
    child.stdin?.write(Buffer.alloc(256, 0x61));
    await waitFor(() => catches(child.pid ?? 0, [1, 2]), "the agent's signal handlers");
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    // what the agent printed, so a failure here says what it was doing
    expect(await exited, `stdout: ${out.stdout}\nstderr: ${out.stderr}`).toBe(130);
    expect(lastEvent()).toMatchObject({ stage: 'done', result: 'error', code: 'INTERRUPTED' });
    // it unwound by itself, not through the forced exit after the grace
    expect(out.stderr).not.toContain('stopped before the run could unwind');
    child.stdin?.destroy();
  });
});

describe('a run stopped outside dnf', () => {
  it('stops rpm and removes the root it was building when stopped while dom0\'s rpmdb is checked', async () => {
    const bin = join(world.dir, 'hanging-rpm-bin');
    const mark = join(world.dir, 'rpm.pid');
    await mkdir(bin);
    await writeFile(join(bin, 'rpm'), `#!/bin/sh\necho $$ > "${mark}.tmp" && mv "${mark}.tmp" "${mark}"\nexec sleep 120\n`);
    await chmod(join(bin, 'rpm'), 0o755);
    const workdir = join(world.dir, 'stopped-rpm');
    const { child, out, exited } = startAgent(['sync-state', '--workdir', workdir, '--json-progress'], { stdin: 'pipe', bin });
    child.stdin?.end(await encodeState({}, []));
    const rpmPid = await waitFor(() => readPid(mark), 'the stand-in rpm');
    child.kill('SIGTERM');
    expect(await exited, out.stderr).toBe(143);
    // it unwound by itself: the rpm was stopped and the half-built root removed on the way out
    expect(out.stderr).toBe('updatevm-agent: error: stopped by SIGTERM [INTERRUPTED]\n');
    expect((await readdir(workdir)).filter((name) => name.startsWith('root'))).toEqual([]);
    await waitFor(() => (alive(rpmPid) ? undefined : true), 'rpm to end', 5000);
  });

  for (const [who, group] of [['the agent alone', false], ['its process group (a terminal\'s Ctrl-C)', true]] as const) {
    it(`stops the dnf --version probe and exits 130 as INTERRUPTED, not DNF_UNUSABLE, on SIGINT to ${who}`, async () => {
      const bin = join(world.dir, `hanging-probe-bin-${String(group)}`);
      const mark = join(world.dir, `probe-${String(group)}.pid`);
      await mkdir(bin);
      await writeFile(join(bin, 'dnf'), `#!/bin/sh\necho $$ > "${mark}.tmp" && mv "${mark}.tmp" "${mark}"\nexec sleep 120\n`);
      await chmod(join(bin, 'dnf'), 0o755);
      const workdir = await syncedWorkdir(world, `stopped-probe-${String(group)}`);
      const child = spawn(process.execPath, [BUNDLE, 'download', '--workdir', workdir, '--json-progress'], {
        env: { PATH: `${bin}:${process.env['PATH'] ?? ''}` },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stdout.resume();
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      const probePid = await waitFor(() => readPid(mark), 'the dnf --version probe');
      process.kill(group ? -(child.pid ?? 0) : (child.pid ?? 0), 'SIGINT');
      expect(await exited, stderr).toBe(130);
      // it unwound by itself (no forced exit), and said why it stopped
      expect(stderr).toBe('updatevm-agent: error: stopped by SIGINT [INTERRUPTED]\n');
      await waitFor(() => (alive(probePid) ? undefined : true), 'the probe to end', 5000);
    });
  }

  it('stops sending, and the transport, with a done line when stopped while the update stream goes to dom0', async () => {
    const bin = join(world.dir, 'send-bin');
    const receiverMark = join(world.dir, 'receiver.pid');
    await mkdir(bin);
    // a dnf that "downloads" more than a pipe holds, and a receiver that never reads: the send blocks
    await writeFile(
      join(bin, 'dnf'),
      '#!/bin/sh\nif [ "$1" = "--version" ]; then echo 4.14.0; exit 0; fi\nfor a in "$@"; do case "$a" in --downloaddir=*) d=${a#--downloaddir=};; esac; done\nhead -c 8388608 /dev/zero > "$d/a-1-1.noarch.rpm"\n',
    );
    await writeFile(join(bin, 'receiver'), `#!/bin/sh\necho $$ > "${receiverMark}.tmp" && mv "${receiverMark}.tmp" "${receiverMark}"\nexec sleep 120\n`);
    for (const file of ['dnf', 'receiver']) await chmod(join(bin, file), 0o755);
    const workdir = await syncedWorkdir(world, 'stopped-send');
    const { child, out, exited, lastEvent } = startAgent(
      ['download', '--workdir', workdir, '--json-progress', '--receiver-command', JSON.stringify([join(bin, 'receiver')])],
      { bin },
    );
    await waitFor(() => (out.stdout.includes('"stage":"send"') ? true : undefined), 'the send to begin');
    const receiverPid = await waitFor(() => readPid(receiverMark), 'the stand-in receiver');
    child.kill('SIGTERM');
    expect(await exited, out.stderr).toBe(143);
    expect(out.stderr).toBe('updatevm-agent: error: stopped by SIGTERM [INTERRUPTED]\n');
    expect(lastEvent()).toMatchObject({ stage: 'done', result: 'error', code: 'INTERRUPTED' });
    expect(await readdir(join(workdir, 'runs'))).toEqual([]);
    await waitFor(() => (alive(receiverPid) ? undefined : true), 'the receiver to be stopped', 5000);
  });
});
