#!/usr/bin/env node
// Runs every package's tests through turbo, then prints one closing line, `N passed, N failed`,
// summed from each package's vitest JSON report. Exits non-zero when a test failed, a package's
// run crashed or left no report, or no test ran at all.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const packages = JSON.parse(
  spawnSync('pnpm', ['-r', 'ls', '--depth', '-1', '--json'], { cwd: root, encoding: 'utf8' }).stdout,
)
  .map((p) => p.path)
  .filter((p) => p !== root && existsSync(join(p, 'package.json')))
  .filter((p) => JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')).scripts?.test);

for (const p of packages) rmSync(join(p, 'test-results.json'), { force: true });

const extra = process.argv.slice(2);
const run = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'test', '--continue', '--concurrency=2', '--output-logs=full', ...extra],
  { cwd: root, stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
const problems = [];
for (const p of packages) {
  const file = join(p, 'test-results.json');
  if (!existsSync(file)) {
    problems.push(`${p}: no test report (the run crashed or was not started)`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  // A test file that fails to load contributes no tests but fails its suite.
  for (const suite of report.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) {
      problems.push(`${suite.name}: ${String(suite.message ?? 'failed to load').split('\n')[0]}`);
      failed += 1;
    }
  }
}
for (const line of problems) console.error(`test-run: ${line}`);
if (run.status !== 0 && failed === 0) {
  console.error('test-run: turbo exited non-zero without a failed test; counting it as a failure');
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 && run.status === 0 ? 0 : 1);
