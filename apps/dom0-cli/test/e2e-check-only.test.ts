import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeScenario, type Scenario } from './harness.ts';

describe('dom0-update --check-only through the real agent and dnf', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await makeScenario({ install: (f) => f.packages.v1.map((p) => p.path), serve: (f) => f.repos.v2 });
  }, 120_000);
  afterAll(async () => s.close());

  it('exits 100 when the mirror has newer packages', async () => {
    const r = await s.run(['--check-only']);
    expect(r.stderr + r.stdout).toContain('Updates are available');
    expect(r.exitCode).toBe(100);
  });

  it('exits 1, never "no updates", when the mirror is down', async () => {
    s.mirror.setDown(true);
    try {
      const r = await s.run(['--check-only', '--clean']);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).not.toContain('No updates');
      expect(r.stderr).toContain('NOT known whether updates are available');
      // --clean still reached the UpdateVM, which cleaned before the check failed.
      expect(r.stdout).toContain('[local] cache cleaned');
    } finally {
      s.mirror.setDown(false);
    }
  });

  it('prints JSON progress lines ending in a done record', async () => {
    const r = await s.run(['--check-only', '--json-progress']);
    expect(r.exitCode).toBe(100);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'progress', stage: 'lock' });
    expect(lines.at(-1)).toEqual({ type: 'done', status: 'updates_available', exitCode: 100, percent: 100 });
  });
});
