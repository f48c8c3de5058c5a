// tooling/scripts/run-tests.mjs (what `./run.sh test` and CI run): its last line must be a true
// `N passed, N failed` count whatever goes wrong, and only a run with passing tests exits 0.
// A stand-in `pnpm` on PATH plays each failure; no real test run is needed.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/paths.ts';

const SCRIPT = join(REPO_ROOT, 'tooling/scripts/run-tests.mjs');

// One package directory with a test script; `pnpm exec turbo` writes (or not) its report.
const FAKE_PNPM = `#!/bin/sh
if [ "$1" = "-r" ]; then
  case "$FAKE_MODE" in
    ls-fails) echo "ERR_PNPM_FAKE the workspace is broken" >&2; exit 1 ;;
    ls-garbage) echo "this is not JSON" ;;
    *) printf '[{"path":"%s"}]\\n' "$FAKE_PKG" ;;
  esac
  exit 0
fi
case "$FAKE_MODE" in
  pass) printf '{"numPassedTests":2,"numFailedTests":0,"testResults":[]}' > "$FAKE_PKG/test-results.json" ;;
  fail) printf '{"numPassedTests":2,"numFailedTests":1,"testResults":[]}' > "$FAKE_PKG/test-results.json"; exit 1 ;;
  timeout) printf '{"numPassedTests":1,"numFailedTests":1,"testResults":[{"name":"%s/t.test.ts","status":"failed","assertionResults":[{"status":"failed","fullName":"slow one","duration":5003.2,"failureMessages":["Error: STACK_TRACE_ERROR"]}]}]}' "$FAKE_PKG" > "$FAKE_PKG/test-results.json"; exit 1 ;;
  empty) printf '{"numPassedTests":0,"numFailedTests":0,"testResults":[]}' > "$FAKE_PKG/test-results.json" ;;
  garbled-report) printf '{"numPassed' > "$FAKE_PKG/test-results.json" ;;
  no-report) ;;
esac
exit 0
`;

async function runWith(mode: string, args: readonly string[] = []): Promise<{ exitCode: number; lastLine: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'run-tests-'));
  const bin = join(dir, 'bin');
  const pkg = join(dir, 'pkg');
  mkdirSync(bin);
  mkdirSync(pkg);
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'fake', scripts: { test: 'vitest run' } }));
  if (mode !== 'no-pnpm') {
    writeFileSync(join(bin, 'pnpm'), FAKE_PNPM);
    chmodSync(join(bin, 'pnpm'), 0o755);
  }
  const r = await execa(process.execPath, [SCRIPT, ...args], {
    // Only the stand-in: a real pnpm would run the real workspace's tests.
    env: { PATH: bin, FAKE_MODE: mode, FAKE_PKG: pkg },
    extendEnv: false,
    reject: false,
  });
  rmSync(dir, { recursive: true, force: true });
  const lines = r.stdout.trimEnd().split('\n');
  return { exitCode: r.exitCode ?? -1, lastLine: lines.at(-1) ?? '', stderr: r.stderr };
}

describe('run-tests.mjs', () => {
  it('prints "0 passed, 1 failed" last and exits 1 when pnpm -r ls fails', async () => {
    const r = await runWith('ls-fails');
    expect(r.lastLine).toBe('0 passed, 1 failed');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('pnpm -r ls failed: ERR_PNPM_FAKE the workspace is broken');
  });

  it('prints "0 passed, 1 failed" last and exits 1 when pnpm -r ls prints no JSON', async () => {
    const r = await runWith('ls-garbage');
    expect(r.lastLine).toBe('0 passed, 1 failed');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('printed no JSON');
  });

  it('prints "0 passed, 1 failed" last and exits 1 when pnpm is not installed', async () => {
    const r = await runWith('no-pnpm');
    expect(r.lastLine).toBe('0 passed, 1 failed');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('cannot run pnpm');
  });

  it('counts a package that left no report as a failure', async () => {
    const r = await runWith('no-report');
    expect(r.lastLine).toBe('0 passed, 1 failed');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no test report');
  });

  it('counts a package whose report is not JSON as a failure', async () => {
    const r = await runWith('garbled-report');
    expect(r.lastLine).toBe('0 passed, 1 failed');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('unreadable test report');
  });

  it('exits 1 when no test ran at all', async () => {
    const r = await runWith('empty');
    expect(r.lastLine).toBe('0 passed, 1 failed');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no test ran');
  });

  it('sums a failing run and exits 1', async () => {
    const r = await runWith('fail');
    expect(r.lastLine).toBe('2 passed, 1 failed');
    expect(r.exitCode).toBe(1);
  });

  it('names a timed-out test as timed out, not as vitest\'s STACK_TRACE_ERROR placeholder', async () => {
    const r = await runWith('timeout');
    expect(r.lastLine).toBe('1 passed, 1 failed');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/FAILED \S*t\.test\.ts > slow one: timed out after 5003 ms \(the package's output above has vitest's message\)/);
    expect(r.stderr).not.toContain('STACK_TRACE_ERROR');
  });

  it('refuses arguments (a turbo filter would count the packages it left out as failed) and runs nothing', async () => {
    const r = await runWith('pass', ['--filter=@dom0-updates/protocol']);
    expect(r.lastLine).toBe('0 passed, 1 failed');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('takes no arguments');
    expect(r.stderr).toContain('pnpm exec vitest run');
  });

  it('refuses an argument to ./run.sh test before setup installs anything', async () => {
    // a copy alone in a directory: were the argument not refused, it would find no setup to run
    const dir = mkdtempSync(join(tmpdir(), 'run-sh-'));
    copyFileSync(join(REPO_ROOT, 'run.sh'), join(dir, 'run.sh'));
    const r = await execa('bash', [join(dir, 'run.sh'), 'test', '--bogus'], { reject: false, all: true });
    rmSync(dir, { recursive: true, force: true });
    expect(r.exitCode).toBe(2);
    expect(r.all).toContain('run.sh: test takes no options');
    expect(r.all).toContain('usage: ./run.sh demo');
  });

  it('ends ./run.sh test with a count line, exit 1, when setup fails, and runs no test', async () => {
    // a copy whose setup fails (as with an unusable TMPDIR), and whose test runner would say so if it ran
    const dir = mkdtempSync(join(tmpdir(), 'run-sh-'));
    copyFileSync(join(REPO_ROOT, 'run.sh'), join(dir, 'run.sh'));
    mkdirSync(join(dir, 'tooling', 'scripts'), { recursive: true });
    writeFileSync(join(dir, 'tooling', 'scripts', 'setup.sh'), 'echo "setup: broken" >&2; exit 1\n');
    writeFileSync(join(dir, 'tooling', 'scripts', 'run-tests.mjs'), 'console.log("the tests ran");\n');
    const r = await execa('bash', [join(dir, 'run.sh'), 'test'], { reject: false, all: true });
    rmSync(dir, { recursive: true, force: true });
    expect(r.exitCode).toBe(1);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('0 passed, 1 failed');
    expect(r.all).toContain('setup: broken');
    expect(r.all).not.toContain('the tests ran');
  });

  it('exits 0 with the count when every test passed', async () => {
    const r = await runWith('pass');
    expect(r.lastLine).toBe('2 passed, 0 failed');
    expect(r.exitCode).toBe(0);
  });
});
