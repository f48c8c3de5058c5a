import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUNDLES } from './support/build-bundles.ts';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** Runs the bundle with stdout on `stdout` (a descriptor, or a pipe whose reader leaves at once). */
function runBundle(args: string[], stdout: number | 'gone'): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BUNDLES.cli, ...args], { stdio: ['ignore', stdout === 'gone' ? 'pipe' : stdout, 'pipe'] });
  if (stdout === 'gone') child.stdout?.destroy();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('dom0-update as a process, when its output cannot be written', () => {
  it('fails --help whose output is lost to a full device, saying so without a stack trace', async () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = await runBundle(['--help'], full);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('dom0-update: cannot write to standard output: ENOSPC: no space left on device, write [OUTPUT_FAILED]\n');
    } finally {
      closeSync(full);
    }
  });

  it('ends a run whose reader went away with the run\'s own outcome, without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-output-'));
    dirs.push(dir);
    const lockFile = join(dir, 'dom0-update.lock');
    // the run prints "Taking the dom0-update lock..." on stdout, then finds the lock held
    writeFileSync(lockFile, `${process.pid}\n`);
    writeFileSync(join(dir, 'config'), `TRANSPORT=local\nLOCK_FILE=${lockFile}\nUPDATES_DIR=${dir}\n`);
    const r = await runBundle([`--config=${join(dir, 'config')}`, '--check-only'], 'gone');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[LOCK_HELD]');
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|OUTPUT_FAILED/);
  });
});
