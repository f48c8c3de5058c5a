// Ctrl-C, kill or a closed terminal in the middle of `./run.sh demo` must leave nothing behind:
// no process it started, neither network namespace, no scratch dir (unless --keep). Signals go to
// the real demo bundle at points its own output marks, never after a delay.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { createIsolation } from '../src/isolation.ts';
import { REPO_ROOT } from '../src/paths.ts';
import { descendantsOf, type ProcessId } from '../src/process-tree.ts';

const DEMO = join(REPO_ROOT, 'tooling/e2e/dist/demo.mjs');
const root = process.getuid?.() === 0;

function startTime(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}
const running = (p: ProcessId): boolean => startTime(p.pid) === p.start;

async function namespaces(): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

async function pidsIn(ns: string): Promise<ProcessId[]> {
  const r = await execa('ip', ['netns', 'pids', ns]);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => ({ pid: Number(l), start: startTime(Number(l)) ?? '' }));
}

interface Interrupted {
  readonly code: number | null;
  readonly output: string;
  readonly dir: string;
  /** The demo's namespaces and every process in them or below the demo, just before the signal. */
  readonly namespaces: string[];
  readonly processes: ProcessId[];
}

/** Starts the demo, waits for `mark` in its output, records what it runs, then sends `signal`. */
async function interruptDemo(args: string[], mark: RegExp, signal: NodeJS.Signals): Promise<Interrupted> {
  const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid ?? -1;
  let output = '';
  let marked: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => (marked = resolve));
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (mark.test(output)) marked();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await Promise.race([seen, exited.then(() => Promise.reject(new Error(`the demo ended before ${String(mark)}:\n${output}`)))]);
  const own = (await namespaces()).filter((n) => n.includes(`-${String(pid)}-`));
  const processes = [...(await descendantsOf(pid))];
  for (const ns of own) processes.push(...(await pidsIn(ns)));
  child.kill(signal);
  const [code] = await exited;
  return { code, output, dir: join(tmpdir(), `dom0-updates-demo-${String(pid)}`), namespaces: own, processes };
}

async function expectNothingLeft(r: Interrupted): Promise<void> {
  expect(r.namespaces).toHaveLength(2);
  expect(r.processes.length).toBeGreaterThan(0); // at least the mirror
  const now = await namespaces();
  expect(now.filter((n) => r.namespaces.includes(n))).toEqual([]);
  expect(r.processes.filter(running)).toEqual([]);
}

describe.runIf(root)('interrupting the demo (root)', () => {
  it('on SIGINT during dom0-update, stops everything, deletes both namespaces and the scratch dir, exits 130', async () => {
    const r = await interruptDemo([], /^ {3}\| /m, 'SIGINT');
    expect(r.code, r.output).toBe(130);
    expect(r.output).toMatch(/demo: interrupted by SIGINT/);
    expect(r.output).toMatch(/deleted network namespaces d0u-dom0-\d+-\d+-\d+, d0u-uvm-\d+-\d+-\d+/);
    await expectNothingLeft(r);
    expect(existsSync(r.dir)).toBe(false);
  }, 120_000);

  it('on SIGTERM after set-up, before any run, cleans up the same way and exits 143', async () => {
    const r = await interruptDemo(['--tamper'], /dom0 has: /, 'SIGTERM');
    expect(r.code, r.output).toBe(143);
    expect(r.output).toMatch(/demo: interrupted by SIGTERM/);
    await expectNothingLeft(r);
    expect(existsSync(r.dir)).toBe(false);
  }, 120_000);

  it('on SIGHUP with --keep, keeps the scratch dir, deletes the namespaces, says the kept config cannot rerun but the rerun script can, exits 129', async () => {
    const r = await interruptDemo(['--keep'], /^ {3}\| /m, 'SIGHUP');
    try {
      expect(r.code, r.output).toBe(129);
      expect(r.output).toMatch(/kept \/\S+\. Its network namespaces are gone, so dom0-update\.conf no longer runs as is; the rerun script below uses dom0-update\.rerun\.conf/);
      expect(r.output).toMatch(/run it again: +\/\S+\/rerun -y/);
      await expectNothingLeft(r);
      expect(existsSync(join(r.dir, 'dom0-update.conf'))).toBe(true);
      expect(existsSync(join(r.dir, 'rerun'))).toBe(true);
    } finally {
      rmSync(r.dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe.runIf(root)('the demo whose reader goes away (root)', () => {
  it('runs to the end and leaves nothing behind, as `./run.sh demo | head -5` does', async () => {
    const child = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid ?? -1;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    // the reader leaves once dom0-update's lines flow, when the mirror and both namespaces exist
    let output = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (/^ {3}\| /m.test(output)) resolve();
      });
    });
    const own = (await namespaces()).filter((n) => n.includes(`-${String(pid)}-`));
    const processes = [...(await descendantsOf(pid))];
    child.stdout.destroy();
    const [code] = await exited;
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code, stderr).toBe(0);
    await expectNothingLeft({ code, output, dir: '', namespaces: own, processes });
    expect(existsSync(join(tmpdir(), `dom0-updates-demo-${String(pid)}`))).toBe(false);
  }, 240_000);
});

describe.runIf(root)('namespaces left by earlier runs (root)', () => {
  it('removes those whose maker is provably gone, with what runs in them, and leaves live and unprovable ones', async () => {
    // A maker that is gone: a process that ran and ended (its pid and start time are on record).
    const gone = spawn('sleep', ['60']);
    const goneId = { pid: gone.pid ?? -1, start: startTime(gone.pid ?? -1) ?? '' };
    gone.kill('SIGKILL');
    await once(gone, 'exit');
    const live = { pid: process.pid, start: startTime(process.pid) ?? '' };
    const stale = `d0u-uvm-${String(goneId.pid)}-${goneId.start}-1`;
    const inUse = `d0u-uvm-${String(live.pid)}-${live.start}-999`;
    const oldStyle = 'd0u-uvm-0badc0de';
    for (const ns of [stale, inUse, oldStyle]) await execa('ip', ['netns', 'add', ns]);
    // Something an earlier run left running in its namespace.
    const orphan = spawn('ip', ['netns', 'exec', stale, 'sleep', '300'], { stdio: 'ignore' });
    const orphanExit = once(orphan, 'exit');
    try {
      while ((await pidsIn(stale)).length === 0) await new Promise((resolve) => setImmediate(resolve));
      const isolation = await createIsolation();
      await isolation.close();
      // Another test file's sweep, running in parallel, may be the one that removed it.
      expect(isolation.sweep.removed).not.toContain(inUse);
      expect(isolation.sweep.leftAlone).toContain(oldStyle);
      const now = await namespaces();
      expect(now).not.toContain(stale);
      expect(now).toEqual(expect.arrayContaining([inUse, oldStyle]));
      expect(now.filter((n) => isolation.namespaces.includes(n))).toEqual([]);
      const [, signal] = (await orphanExit) as [number | null, NodeJS.Signals | null];
      expect(signal).toBe('SIGTERM');
    } finally {
      orphan.kill('SIGKILL');
      for (const ns of [stale, inUse, oldStyle]) await execa('ip', ['netns', 'del', ns], { reject: false });
    }
  }, 60_000);
});
