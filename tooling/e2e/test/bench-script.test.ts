// tooling/scripts/bench-receive.mjs (`pnpm bench`): a SIGTERM to the wrapper, as pnpm or a kill of
// its pid sends, must reach the benchmark, which stops the receive it measures and removes its
// temporary updates dir; the wrapper then exits 143 like the benchmark. A tiny stream keeps it short.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/paths.ts';

const WRAPPER = join(REPO_ROOT, 'tooling/scripts/bench-receive.mjs');

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe('pnpm bench', () => {
  it('hands a SIGTERM on to the benchmark, which removes its updates dir; exits 143', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'bench-signal-'));
    try {
      const run = execa(process.execPath, [WRAPPER, '--skip-small', '--header-mib', '0', '--packages', '2', '--mib-per-package', '1', '--runs', '100'], {
        cwd: REPO_ROOT,
        // built by the suite's setup; a turbo build here could rewrite bundles other tests run
        env: { TMPDIR: tmp, BENCH_NO_BUILD: '1' },
        reject: false,
      });
      // a receive is running once its updates dir exists
      expect(await until(() => readdirSync(tmp).some((name) => name.startsWith('bench-updates-')), 240_000)).toBe(true);
      run.kill('SIGTERM');
      const result = await run;
      expect(result.exitCode).toBe(143);
      expect(result.stderr).toContain('bench: SIGTERM: stopping the commands and removing temporary files');
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
    }
  }, 300_000);
});
