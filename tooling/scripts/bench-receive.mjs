#!/usr/bin/env node
// `pnpm bench`: builds what the receiver benchmark needs, then runs it (apps/dom0-receiver/bench).
// A signal to this wrapper (pnpm's SIGTERM, a kill of this pid) is handed on to the benchmark,
// which stops what it measures and removes its temporary files; this exits as it did (128+N).
import { spawn, spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
// BENCH_NO_BUILD=1: the caller built already (the test suite, which must not rewrite the bundles
// other tests are running)
if (process.env['BENCH_NO_BUILD'] !== '1') {
  const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=@dom0-updates/dom0-receiver', '--filter=@dom0-updates/fixtures', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const bench = spawn(process.execPath, [join(root, 'apps', 'dom0-receiver', 'bench', 'receive.mjs'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  // a Ctrl-C reaches the whole process group, the benchmark too: handing it on again is harmless
  process.on(signal, () => bench.kill(signal));
}
// pnpm does not hand a SIGTERM on to its script: when it dies, this is left to another parent
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) bench.kill('SIGTERM');
}, 500).unref();
bench.on('error', (error) => {
  console.error(`bench: cannot start the benchmark: ${error.message}`);
  process.exit(1);
});
bench.on('exit', (code, signal) => process.exit(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
