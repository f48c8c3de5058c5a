#!/usr/bin/env node
// `pnpm bench`: builds what the receiver benchmark needs, then runs it (apps/dom0-receiver/bench).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=@dom0-updates/dom0-receiver', '--filter=@dom0-updates/fixtures', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const run = spawnSync(process.execPath, [join(root, 'apps', 'dom0-receiver', 'bench', 'receive.mjs'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
