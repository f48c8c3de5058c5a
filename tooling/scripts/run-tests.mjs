#!/usr/bin/env node
// Runs every package's tests through turbo, then prints one closing line, `N passed, N failed`,
// summed from each package's vitest JSON report. Exits non-zero when a test failed, a package's
// run crashed or left no report, no test ran at all, or this script itself could not do its job:
// whatever goes wrong, the count line is still the last line and tells the truth.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/** A failure of this script's own steps (not of a test): reported, counted as one failure. */
class StepError extends Error {}

/** The directories of the workspace packages that have a `test` script. */
function testedPackages() {
  const ls = spawnSync('pnpm', ['-r', 'ls', '--depth', '-1', '--json'], { cwd: root, encoding: 'utf8' });
  if (ls.error) throw new StepError(`cannot run pnpm to list the packages: ${ls.error.message}`);
  if (ls.status !== 0) {
    const why = (ls.stderr ?? '').trim().split('\n')[0] || (ls.signal ? `killed by ${ls.signal}` : `exit ${String(ls.status)}`);
    throw new StepError(`pnpm -r ls failed: ${why}`);
  }
  let listed;
  try {
    listed = JSON.parse(ls.stdout);
  } catch {
    throw new StepError('pnpm -r ls printed no JSON');
  }
  if (!Array.isArray(listed) || !listed.every((p) => typeof p?.path === 'string')) {
    throw new StepError('pnpm -r ls printed JSON that is not a list of packages');
  }
  return listed
    .map((p) => p.path)
    .filter((p) => p !== root && existsSync(join(p, 'package.json')))
    .filter((p) => {
      try {
        return Boolean(JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')).scripts?.test);
      } catch (error) {
        throw new StepError(`${p}/package.json: ${error.message}`);
      }
    });
}

/**
 * Each failed test of a report as one line (file, title, first line of its failure), so the end
 * of a long CI log names what failed even when the package's own output scrolled out of view.
 */
function failedTests(report) {
  const lines = [];
  for (const suite of Array.isArray(report.testResults) ? report.testResults : []) {
    const file = typeof suite?.name === 'string' ? suite.name.slice(root.length + 1) : '?';
    for (const test of Array.isArray(suite?.assertionResults) ? suite.assertionResults : []) {
      if (test?.status !== 'failed') continue;
      let why = String(test.failureMessages?.[0] ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
      // vitest's JSON report keeps only its placeholder for a test or hook that timed out
      if (why.trim() === 'Error: STACK_TRACE_ERROR') {
        why = `timed out${Number.isFinite(test.duration) ? ` after ${Math.round(test.duration)} ms` : ''} (the package's output above has vitest's message)`;
      }
      lines.push(`FAILED ${file} > ${String(test.fullName ?? test.title)}: ${why.trim().slice(0, 300)}`);
    }
  }
  return lines;
}

/** Runs the tests and sums the reports; throws StepError only before any test could run. */
function runAll(problems, failures) {
  // a turbo filter would leave the other packages without a report, each counted as a failure
  if (process.argv.length > 2) {
    throw new StepError(`takes no arguments, got ${JSON.stringify(process.argv.slice(2))} (one package's tests: cd into it, then pnpm exec vitest run)`);
  }
  const packages = testedPackages();
  if (packages.length === 0) throw new StepError('no package has a test script');
  for (const p of packages) rmSync(join(p, 'test-results.json'), { force: true });

  // colours only for a terminal: a log file (`./run.sh test > log`) gets plain text
  const plain = !process.stdout.isTTY;
  const run = spawnSync(
    'pnpm',
    ['exec', 'turbo', 'run', 'test', '--continue', '--concurrency=2', '--output-logs=full', ...(plain ? ['--no-color'] : [])],
    { cwd: root, stdio: 'inherit', env: plain ? { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } : process.env },
  );
  if (run.error) problems.push(`cannot run turbo: ${run.error.message}`);

  let passed = 0;
  let failed = 0;
  for (const p of packages) {
    const file = join(p, 'test-results.json');
    if (!existsSync(file)) {
      problems.push(`${p}: no test report (the run crashed or was not started)`);
      failed += 1;
      continue;
    }
    let report;
    try {
      report = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      problems.push(`${p}: unreadable test report: ${error.message}`);
      failed += 1;
      continue;
    }
    if (!Number.isSafeInteger(report?.numPassedTests) || !Number.isSafeInteger(report?.numFailedTests)) {
      problems.push(`${p}: the test report has no test counts`);
      failed += 1;
      continue;
    }
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    failures.push(...failedTests(report));
    // A test file that fails to load contributes no tests but fails its suite.
    for (const suite of Array.isArray(report.testResults) ? report.testResults : []) {
      if (suite?.status === 'failed' && (suite.assertionResults ?? []).length === 0) {
        problems.push(`${suite.name}: ${String(suite.message ?? 'failed to load').split('\n')[0]}`);
        failed += 1;
      }
    }
  }
  if (run.status !== 0 && failed === 0) {
    problems.push('turbo exited non-zero without a failed test; counting it as a failure');
    failed += 1;
  }
  if (passed === 0 && failed === 0) {
    problems.push('no test ran; counting it as a failure');
    failed += 1;
  }
  return { passed, failed };
}

const problems = [];
const failures = [];
let counts;
try {
  counts = runAll(problems, failures);
} catch (error) {
  problems.push(error instanceof StepError ? error.message : `crashed: ${error?.stack ?? String(error)}`);
  counts = { passed: 0, failed: 1 };
}
for (const line of failures) console.error(`test-run: ${line}`);
for (const line of problems) console.error(`test-run: ${line}`);
console.log(`${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed === 0 && counts.passed > 0 ? 0 : 1);
