/**
 * Builds the bundles the end-to-end tests run, from source, before any test starts: this
 * package's dom0-update.mjs, and private copies of the agent and receiver bundles under
 * dist/e2e/ (so a build here never races the other packages' own builds of their dist/).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PKG = join(import.meta.dirname, '..', '..');
const ROOT = join(PKG, '..', '..');
const BUNDLE = join(ROOT, 'tooling', 'scripts', 'bundle.mjs');

export const BUNDLES = {
  cli: join(PKG, 'dist', 'dom0-update.mjs'),
  agent: join(PKG, 'dist', 'e2e', 'updatevm-agent.mjs'),
  receiver: join(PKG, 'dist', 'e2e', 'dom0-receiver.mjs'),
};

/**
 * The CLI bundle copied where any user can read it (the run's TMPDIR is 1777): a test that runs it
 * as nobody must not depend on the checkout's own path being searchable (a clone under /root is not).
 */
export function cliBundleForAnyUser(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-bundle-'));
  chmodSync(dir, 0o755);
  const copy = join(dir, 'dom0-update.mjs');
  copyFileSync(BUNDLES.cli, copy);
  chmodSync(copy, 0o644);
  return copy;
}

export default function setup(): void {
  const build = (entry: string, out: string): void => {
    execFileSync(process.execPath, [BUNDLE, entry, out], { cwd: ROOT, stdio: 'inherit' });
  };
  build(join(PKG, 'src', 'main.ts'), BUNDLES.cli);
  build(join(ROOT, 'apps', 'updatevm-agent', 'src', 'main.ts'), BUNDLES.agent);
  build(join(ROOT, 'apps', 'dom0-receiver', 'src', 'main.ts'), BUNDLES.receiver);
}
