import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { installedPackages } from '@dom0-updates/fixtures';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLines, makeScenario, type Scenario } from './harness.ts';
import { BUNDLES } from './support/build-bundles.ts';
import { settledState, stateNow } from './support/process-state.ts';

const V1 = ['dom0-hello-1.0-1.noarch', 'dom0-libgreet-1.0-1.noarch', 'dom0-tool-1.0-1.noarch'];

let open: Scenario[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

async function oldRoot(): Promise<Scenario> {
  const s = await makeScenario({ install: (f) => f.packages.v1.map((p) => p.path), serve: (f) => f.repos.v2 });
  open.push(s);
  return s;
}

/** Waits (bounded by the test's own timeout) until `ready` holds: an event, not a timed assertion. */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await sleep(50);
}

function pidIn(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(' ').map(Number);
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/**
 * An agent that sends v2 and then hangs, and a receiver that never answers, each recording its pid
 * (and the receiver a child of its own) once it runs: a run stuck in the download stage.
 */
function stuckInDownload(s: Scenario): { env: Record<string, string>; pids: { agent: string; receiver: string; receiverChild: string } } {
  const pids = { agent: join(s.dir, 'agent.pid'), receiver: join(s.dir, 'receiver.pid'), receiverChild: join(s.dir, 'receiver-child.pid') };
  const hostile = join(import.meta.dirname, 'hostile-agent.mjs');
  return {
    pids,
    env: {
      // paths as arguments, never inside the script: a checkout's path may hold a space
      DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'echo $$ > "$1"; hostile=$2; shift 2; exec node "$hostile" "$@"', 'agent', pids.agent, hostile]),
      DOM0_UPDATES_RECEIVER_COMMAND: JSON.stringify([
        'sh',
        '-c',
        // the child is node, not sleep: a shell's background job ignores SIGINT, so a sleep would
        // outlive the signal until the 60 s grace; node restores the default action as it starts,
        // so the child records its pid only then (a signal before that would be ignored too)
        `node -e 'require("fs").writeFileSync(process.argv[1], String(process.pid)); setTimeout(() => {}, 120000)' "$1" & ` +
          'while [ ! -s "$1" ]; do sleep 0.05; done; echo $$ > "$2.tmp"; mv "$2.tmp" "$2"; cat >/dev/null; wait',
        'receiver',
        pids.receiverChild,
        pids.receiver,
      ]),
      HOSTILE_SEND: s.fixtures.packages.v2.map((p) => p.path).join(':'),
      HOSTILE_HANG: '1',
    },
  };
}

describe('dom0-update on SIGINT, SIGTERM and SIGHUP', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const)(
    'on %s in the download stage, stops the agent\'s and the receiver\'s process groups, releases its lock and exits %i',
    async (signal, code) => {
      const s = await oldRoot();
      const { env, pids } = stuckInDownload(s);
      const run = s.start(['-y'], env);
      await until(() => existsSync(pids.receiver) && existsSync(pids.agent));
      process.kill(run.pid, signal);
      const r = await run.exited;

      expect(r.exitCode).toBe(code);
      expect(r.stderr).toContain(`dom0-update: error: interrupted by ${signal}: the UpdateVM's agent and dom0's receiver were stopped`);
      expect(r.stderr).toContain('[INTERRUPTED]');
      for (const pid of [pids.agent, pids.receiver, pids.receiverChild]) expect(await settledState(pidIn(pid))).toMatch(/^(gone|Z)$/);
      expect(existsSync(s.lockFile)).toBe(false);
      expect(await installedPackages(s.dom0)).toEqual(V1);
    },
  );

  // The test's own timeout is below the receiver's 60 s grace: only the kill on the second signal
  // can end this run in time (a timeout, not a timed assertion).
  it('on a second signal, kills an agent and a receiver that ignore the first at once, without their grace', { timeout: 40_000 }, async () => {
    const s = await oldRoot();
    const { env, pids } = stuckInDownload(s);
    // both ignore the signals dom0-update hands on, so only SIGKILL ends them
    const [sh, dashC, script, ...rest] = JSON.parse(env['DOM0_UPDATES_RECEIVER_COMMAND'] ?? '[]') as string[];
    const run = s.start(['-y'], {
      ...env,
      HOSTILE_IGNORE_SIGNALS: '1',
      DOM0_UPDATES_RECEIVER_COMMAND: JSON.stringify([sh, dashC, `trap '' INT TERM HUP; ${script ?? ''}`, ...rest]),
    });
    await until(() => existsSync(pids.receiver) && existsSync(pids.agent));
    // two different signals: a second SIGINT sent at once could merge with the first in the kernel;
    // which of the two is handled first is not fixed, so the exit code says which came first
    process.kill(run.pid, 'SIGINT');
    process.kill(run.pid, 'SIGTERM');
    const r = await run.exited;

    expect([130, 143]).toContain(r.exitCode);
    const [first, second] = r.exitCode === 130 ? ['SIGINT', 'SIGTERM'] : ['SIGTERM', 'SIGINT'];
    expect(r.stderr).toContain(`dom0-update: warning: another signal (${second}): killing the UpdateVM's agent and dom0's receiver now`);
    expect(r.stderr).toContain(`interrupted by ${first}`);
    for (const pid of [pids.agent, pids.receiver, pids.receiverChild]) expect(await settledState(pidIn(pid))).toMatch(/^(gone|Z)$/);
    expect(existsSync(s.lockFile)).toBe(false);
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  // The test's own timeout is below the receiver's 60 s grace, as above.
  it('says what it waits for when dom0\'s receiver is still at work a few seconds after the signal, and that another signal ends it', { timeout: 40_000 }, async () => {
    const s = await oldRoot();
    const { env, pids } = stuckInDownload(s);
    // a receiver that outlives the end of its input and ignores the signals handed on
    const run = s.start(['-y'], {
      ...env,
      DOM0_UPDATES_RECEIVER_COMMAND: JSON.stringify(['sh', '-c', 'trap \'\' INT TERM HUP; echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; cat >/dev/null; sleep 120', 'receiver', pids.receiver]),
    });
    await until(() => existsSync(pids.receiver) && existsSync(pids.agent));
    process.kill(run.pid, 'SIGINT');
    await until(() => run.stdoutSoFar().includes("Waiting for dom0's receiver to stop"));
    expect(run.stdoutSoFar()).toContain("Waiting for dom0's receiver to stop (it may be finishing a publication): up to 55 s more, then it is killed; signal again to kill it now (the published repository stays whole).");
    process.kill(run.pid, 'SIGTERM');
    const r = await run.exited;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain("another signal (SIGTERM): killing the UpdateVM's agent and dom0's receiver now");
    expect(await settledState(pidIn(pids.receiver))).toMatch(/^(gone|Z)$/);
  });

  it('ends --json-progress output with a done line carrying the signal\'s exit code', async () => {
    const s = await oldRoot();
    const { env, pids } = stuckInDownload(s);
    const run = s.start(['-y', '--json-progress'], env);
    await until(() => existsSync(pids.receiver));
    process.kill(run.pid, 'SIGINT');
    const r = await run.exited;

    expect(r.exitCode).toBe(130);
    const lines = jsonLines(r.stdout);
    expect(lines).toContainEqual(expect.objectContaining({ type: 'error', code: 'INTERRUPTED' }));
    expect(lines.at(-1)).toEqual({ type: 'done', status: 'error', exitCode: 130, percent: 100 });
    expect(await settledState(pidIn(pids.agent))).toMatch(/^(gone|Z)$/);
  });

  it('ends a --check-only stopped while it reads the cached repository with the signal, never "No updates"', async () => {
    const s = await oldRoot();
    expect((await s.run(['--downloadonly'])).exitCode).toBe(0);
    // an rpm that, asked to read the cached packages, stops dom0-update (its parent) as a Ctrl-C would, then fails
    const bin = join(s.dir, 'signal-bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'rpm'), '#!/bin/sh\ncase " $* " in *" -qp "*) kill -TERM "$PPID"; sleep 0.5; exit 1;; esac\nexec /usr/bin/rpm "$@"\n', { mode: 0o755 });
    const r = await s.run(['--check-only'], {
      DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; exit 0']),
      PATH: `${bin}:${s.dom0.env['PATH'] ?? ''}`,
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(143);
    expect(r.stdout).not.toContain('No updates');
    expect(r.stderr).toContain('interrupted by SIGTERM');
  });

  it('hands a signal that arrives during dom0\'s dnf to dnf and waits for dnf to exit', async () => {
    const s = await oldRoot();
    // No -y: dom0's dnf waits at its prompt, reading the stdin the test holds open.
    const run = s.start([]);
    await until(() => run.stdoutSoFar().includes('Is this ok'));
    const dnf = childrenOf(run.pid).filter((pid) => /\bdnf\b/.test(commandOf(pid)));
    expect(dnf).toHaveLength(1);
    process.kill(run.pid, 'SIGTERM');
    const r = await run.exited;

    expect(r.exitCode).toBe(143);
    expect(r.stderr).toMatch(/interrupted by SIGTERM: dom0's dnf upgrade exited with SIGTERM after the signal; its output above says what it did/);
    // dom0's rpm database was read again after dnf stopped: what changed is said either way
    expect(r.stdout).toContain('Nothing changed in dom0 before dnf stopped.');
    // dnf is dom0-update's own child, waited for (reaped): no exit still under way here
    expect(stateNow(dnf[0] ?? 0)).toMatch(/^(gone|Z)$/);
    expect(existsSync(s.lockFile)).toBe(false);
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  // A timeout, not a timed assertion: without the SIGTERM reaching dnf, the run waits at the prompt.
  it('passes a SIGTERM on to dnf at its prompt after a SIGINT that, with stdin a terminal, it left to the terminal', async () => {
    const s = await oldRoot();
    const quote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;
    // No -y, on a terminal: script(1) gives dom0-update one, and dnf asks on it
    const command = ['node', BUNDLES.cli, `--config=${s.configFile}`].map(quote).join(' ');
    const terminal = execa('script', ['-qefc', command, '/dev/null'], { env: s.dom0.env, extendEnv: false, reject: false, stdin: 'pipe' });
    let seen = '';
    terminal.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
    });
    try {
      await until(() => seen.includes('Is this ok'));
      const descendants = (pid: number): number[] => childrenOf(pid).flatMap((child) => [child, ...descendants(child)]);
      // node itself, not the shell script(1) runs it from, whose command line names the bundle too
      const cli = descendants(terminal.pid ?? -1).find((pid) => commandOf(pid).startsWith('node ') && commandOf(pid).includes('dom0-update.mjs'));
      if (cli === undefined) throw new Error('no dom0-update under script');
      // a SIGINT to dom0-update alone: on a terminal, dom0-update leaves it to the terminal's Ctrl-C
      process.kill(cli, 'SIGINT');
      await sleep(500);
      process.kill(cli, 'SIGTERM');
      const r = await terminal;
      expect(r.exitCode).toBe(130);
      expect(seen).toContain("another signal (SIGTERM): dom0's dnf is never killed midway through a transaction; waiting for it to stop");
      expect(seen).toContain("interrupted by SIGINT: dom0's dnf upgrade exited with SIGTERM after the signal");
      expect(seen).toContain('Nothing changed in dom0 before dnf stopped.');
    } finally {
      // only a run that went wrong is still there: script's end hangs its terminal up
      terminal.kill();
    }
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });
});
