import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUNDLE } from './support/world.ts';

function runBundle(args: string[], stdout: number | 'gone'): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BUNDLE, ...args], { stdio: ['ignore', stdout === 'gone' ? 'pipe' : stdout, 'pipe'] });
  if (stdout === 'gone') child.stdout?.destroy();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('updatevm-agent as a process, when its output cannot be written', () => {
  it('fails --version whose output is lost to a full device, saying so without a stack trace', async () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = await runBundle(['--version'], full);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('updatevm-agent: error: cannot write to standard output: ENOSPC: no space left on device, write [OUTPUT_FAILED]\n');
    } finally {
      closeSync(full);
    }
  });

  it('answers --help to a reader that went away with exit 0 and no stack trace', async () => {
    const r = await runBundle(['--help'], 'gone');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});
