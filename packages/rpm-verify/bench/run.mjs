// Bundles the TypeScript benchmark with esbuild (Node 20 runs no TypeScript) and runs it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'rpm-verify-bench-'));
try {
  const bundle = join(out, 'bench.mjs');
  execFileSync('pnpm', ['exec', 'esbuild', join(here, 'verify-throughput.ts'), '--bundle', '--platform=node', '--format=esm', `--outfile=${bundle}`, '--log-level=warning',
    "--banner:js=import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);"], { cwd: here, stdio: 'inherit' });
  execFileSync(process.execPath, [bundle], { stdio: 'inherit', cwd: here });
} finally {
  rmSync(out, { recursive: true, force: true });
}
