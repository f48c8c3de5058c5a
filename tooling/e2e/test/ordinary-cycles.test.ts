// Ordinary update cycles as a user runs them, through the bundles and (as root) with dom0 in a
// namespace that has no network: check, upgrade, nothing to do, install by name, --clean.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScenario, removeScenario, type Scenario } from '../src/scenario.ts';

describe('ordinary cycles on one dom0', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await createScenario();
  }, 120_000);
  afterAll(async () => {
    await removeScenario(s);
  });

  it('reports updates available with exit 100 before the upgrade, installing nothing', async () => {
    const before = await s.installed();
    const r = await s.run(['--check-only'], { timeoutMs: 120_000 });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(100);
    expect(await s.installed()).toEqual(before);
  }, 150_000);

  it('upgrades every installed package to 2.0', async () => {
    const r = await s.run(['-y'], { timeoutMs: 120_000 });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(await s.installed()).toEqual(['dom0-hello-2.0-1.noarch', 'dom0-libgreet-2.0-1.noarch', 'dom0-tool-2.0-1.noarch']);
  }, 150_000);

  it('then finds nothing to do, twice, and check-only exits 0', async () => {
    for (let i = 0; i < 2; i += 1) {
      const r = await s.run(['-y'], { timeoutMs: 120_000 });
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/No updates/i);
    }
    const check = await s.run(['--check-only'], { timeoutMs: 120_000 });
    expect(check.exitCode, `${check.stdout}\n${check.stderr}`).toBe(0);
  }, 300_000);

  it('installs a package by name, and only that one', async () => {
    const r = await s.run(['-y', 'dom0-extra'], { timeoutMs: 120_000 });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(await s.installed()).toEqual([
      'dom0-extra-1.0-1.noarch',
      'dom0-hello-2.0-1.noarch',
      'dom0-libgreet-2.0-1.noarch',
      'dom0-tool-2.0-1.noarch',
    ]);
  }, 150_000);

  it('runs with --clean, which empties the UpdateVM\'s cache and dom0\'s cached repository, and still finds nothing to do', async () => {
    expect(readdirSync(join(s.updatesDir, 'repo')).some((n) => n.endsWith('.rpm'))).toBe(true);
    const cache = join(s.dir, 'updatevm', 'cache');
    await mkdir(cache, { recursive: true });
    await writeFile(join(cache, 'marker'), 'stale');
    const r = await s.run(['-y', '--clean'], { timeoutMs: 120_000 });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('cache cleaned');
    expect(r.stdout).toMatch(/\[dom0-receiver\] emptied the cached repository: \d+ package\(s\)/);
    expect(existsSync(join(cache, 'marker'))).toBe(false);
    // nothing to update, so nothing was sent again: the published repository stays empty
    expect(readdirSync(join(s.updatesDir, 'repo')).filter((n) => n.endsWith('.rpm'))).toEqual([]);
    expect(await s.installed()).toHaveLength(4);
  }, 150_000);
});
