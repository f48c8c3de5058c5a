import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runDom0Dnf } from '../src/dom0-dnf.ts';
import { InstallUnansweredError } from '../src/errors.ts';
import { watchSignals, type InterruptSignal } from '../src/interrupt.ts';
import { markReaderGone } from '../src/reader-gone.ts';

const scratch = mkdtempSync(join(tmpdir(), 'dom0-dnf-run-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe("running dom0's dnf", () => {
  const originalPath = process.env['PATH'];
  let dirs = 0;
  /** A `dnf` first on PATH that runs `script` (sh). */
  const fakeDnf = (script: string): string => {
    const dir = join(scratch, `fake-dnf-${String(++dirs)}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'dnf'), `#!/bin/sh\n${script}\n`);
    chmodSync(join(dir, 'dnf'), 0o755);
    process.env['PATH'] = `${dir}${delimiter}${originalPath ?? ''}`;
    return dir;
  };
  const written = (stream: NodeJS.WriteStream): string[] => {
    const texts: string[] = [];
    vi.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
      texts.push(String(chunk));
      return true;
    });
    return texts;
  };
  afterEach(() => {
    vi.restoreAllMocks();
    process.env['PATH'] = originalPath;
  });

  it("shows dnf's summary and prompt in --silent mode without -y, and drops its stdout with -y", async () => {
    fakeDnf("printf 'Upgrading: dom0-tool\\nIs this ok [y/N]: '; exit 1");
    const out = written(process.stdout);
    await expect(runDom0Dnf(['upgrade'], { mode: 'silent', what: 'upgrade', assumeYes: false, home: scratch })).rejects.toThrow();
    expect(out.join('')).toBe('Upgrading: dom0-tool\nIs this ok [y/N]: ');
    out.length = 0;
    await expect(runDom0Dnf(['upgrade'], { mode: 'silent', what: 'upgrade', assumeYes: true, home: scratch })).rejects.toThrow();
    expect(out.join('')).toBe('');
  });

  it("sends dnf's stdout to stderr with --json-progress, where stdout carries only JSON lines", async () => {
    fakeDnf("printf 'Upgraded: dom0-tool\\n'");
    const out = written(process.stdout);
    const err = written(process.stderr);
    await runDom0Dnf(['upgrade'], { mode: 'json', what: 'upgrade', assumeYes: true, home: scratch });
    expect(out.join('')).toBe('');
    expect(err.join('')).toBe('Upgraded: dom0-tool\n');
  });

  it('says dnf could not start when there is no dnf to run', async () => {
    const empty = join(scratch, 'no-dnf');
    mkdirSync(empty);
    process.env['PATH'] = empty;
    await expect(runDom0Dnf(['upgrade'], { mode: 'human', what: 'upgrade', assumeYes: true, home: scratch })).rejects.toMatchObject({
      code: 'INSTALL_FAILED',
      message: expect.stringContaining("dom0's dnf upgrade could not start"),
    });
  });

  it('says that dnf took no answer as a no when it failed without -y and with no terminal on stdin', async () => {
    fakeDnf('exit 1');
    const error: unknown = await runDom0Dnf(['upgrade'], { mode: 'human', what: 'upgrade', assumeYes: false, home: scratch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstallUnansweredError);
    expect((error as Error).message).toContain('with no terminal to ask on, dnf takes no answer as a no: add -y to answer yes');
  });

  it('does not say dnf took no answer as a no when a signal killed it', async () => {
    fakeDnf('kill -KILL $$');
    const error: unknown = await runDom0Dnf(['upgrade'], { mode: 'human', what: 'upgrade', assumeYes: false, home: scratch }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(InstallUnansweredError);
    expect((error as Error).message).toBe("dom0's dnf upgrade was killed by SIGKILL; its output above says why");
  });

  /** A dnf that notes each SIGINT and SIGTERM it gets (`signals`, sent 300 ms apart, so none merges with another) and ends when `stop` appears. */
  async function signalsDnfGets(...signals: InterruptSignal[]): Promise<string[]> {
    const dir = fakeDnf('trap "echo INT >> \\"$0.got\\"" INT; trap "echo TERM >> \\"$0.got\\"" TERM; echo ready; while [ ! -e "$0.stop" ]; do sleep 0.05; done');
    const out = written(process.stdout);
    // the real signal watcher, fed as a signal to dom0-update would feed it
    const interrupt = watchSignals();
    try {
      const run = runDom0Dnf(['upgrade'], { mode: 'human', what: 'upgrade', assumeYes: true, home: scratch, interrupt });
      await vi.waitFor(() => expect(out.join('')).toContain('ready'), { timeout: 10_000 });
      for (const signal of signals) {
        process.emit(signal, signal);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      writeFileSync(join(dir, 'dnf.stop'), '');
      await expect(run).rejects.toThrow('interrupted by');
    } finally {
      interrupt.dispose();
    }
    const got = join(dir, 'dnf.got');
    return existsSync(got) ? readFileSync(got, 'utf8').split('\n').filter((l) => l !== '') : [];
  }

  it('hands dnf a signal once, not again when the same signal comes again, but another signal after it', async () => {
    expect(await signalsDnfGets('SIGTERM', 'SIGTERM')).toEqual(['TERM']);
    expect(await signalsDnfGets('SIGINT', 'SIGTERM')).toEqual(['INT', 'TERM']);
  });

  it('does not hand dnf a SIGINT while stdin is a terminal, where the Ctrl-C reached dnf already', async () => {
    const tty = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY');
    Object.defineProperty(process.stdin, 'isTTY', { value: true, configurable: true });
    try {
      expect(await signalsDnfGets('SIGINT')).toEqual([]);
    } finally {
      if (tty === undefined) delete (process.stdin as { isTTY?: boolean }).isTTY;
      else Object.defineProperty(process.stdin, 'isTTY', tty);
    }
  });

  // last: a stream marked as gone stays so for the rest of this file
  it("sends dnf's output to the other stream once the reader of its own has gone", async () => {
    fakeDnf("printf 'Upgraded: dom0-tool\\n'");
    const out = written(process.stdout);
    const err = written(process.stderr);
    markReaderGone(process.stdout);
    await runDom0Dnf(['upgrade'], { mode: 'human', what: 'upgrade', assumeYes: true, home: scratch });
    expect(out.join('')).toBe('');
    expect(err.join('')).toBe('Upgraded: dom0-tool\n');
  });
});
