import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
let dir: string;
let probe: string;

// The check looks at the process's own descriptors, so it runs in a process of its own whose
// descriptors 3 and 4 each case sets up the way a launcher would.
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-preflight-'));
  const entry = join(dir, 'probe.ts');
  writeFileSync(
    entry,
    `import { checkTransport } from ${JSON.stringify(join(ROOT, 'apps/updatevm-agent/src/transport/preflight.ts'))};
try { checkTransport({ kind: 'fd' }); process.stderr.write('OK'); } catch (error) { process.stderr.write(String(error.code)); }\n`,
  );
  probe = join(dir, 'probe.mjs');
  execFileSync(process.execPath, [join(ROOT, 'tooling/scripts/bundle.mjs'), entry, probe]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function verdict(redirections: string, stdio: ('pipe' | 'inherit' | 'ignore')[] = ['ignore', 'pipe', 'pipe']): string {
  const run = spawnSync('bash', ['-c', `exec "${process.execPath}" "${probe}" ${redirections}`], { stdio, encoding: 'utf8', timeout: 10_000 });
  return run.stderr;
}

describe('--transport fd pre-check', () => {
  it('refuses a launch without fds 3 and 4, whose numbers Node took for itself', () => {
    expect(verdict('3>&- 4>&-')).toBe('TRANSPORT_NO_FDS');
    expect(verdict('3> >(cat >/dev/null) 4>&-')).toBe('TRANSPORT_NO_FDS');
  });

  it('accepts pipes a shell hands down, also when one end is open twice (3>&1)', () => {
    expect(verdict('3> >(cat >/dev/null) 4< <(sleep 1)')).toBe('OK');
    expect(verdict('3>&1 4< <(sleep 1)')).toBe('OK');
  });

  it('accepts the socket pairs dom0-update passes', () => {
    const run = spawnSync(process.execPath, [probe], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'], encoding: 'utf8', timeout: 10_000 });
    expect(run.stderr).toBe('OK');
  });
});
