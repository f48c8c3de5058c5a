/**
 * What the end-to-end test files of dom0-update share: the fixture versions, the stand-in hostile
 * agent, and scenarios (a dom0 root, a mirror, a config) closed after each test.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { makeScenario, type Scenario } from '../harness.ts';

export const V1 = ['dom0-hello-1.0-1.noarch', 'dom0-libgreet-1.0-1.noarch', 'dom0-tool-1.0-1.noarch'];
export const V2 = ['dom0-hello-2.0-1.noarch', 'dom0-libgreet-2.0-1.noarch', 'dom0-tool-2.0-1.noarch'];

export type ScenarioOptions = Parameters<typeof makeScenario>[0];

/** Call once at a test file's top level: its scenarios are closed after each test. */
export function scenariosClosedAfterEach(): (options: ScenarioOptions) => Promise<Scenario> {
  let open: Scenario[] = [];
  afterEach(async () => {
    await Promise.all(open.map((s) => s.close()));
    open = [];
  });
  return async (options) => {
    const s = await makeScenario(options);
    open.push(s);
    return s;
  };
}

/** A file in the agent's dnf cache that only a clean removes; returns its path. */
export function agentCacheMarker(s: Scenario): string {
  const cache = join(s.dir, 'agent', 'cache');
  mkdirSync(cache, { recursive: true });
  writeFileSync(join(cache, 'marker'), 'stale');
  return join(cache, 'marker');
}

/** A new directory of the scenario's for the packages a test builds and has the hostile agent send. */
export function batchDir(s: Scenario): string {
  const dir = join(s.dir, 'batch');
  mkdirSync(dir);
  return dir;
}

/** The stand-in UpdateVM that sends whatever the test tells it to (test/hostile-agent.mjs). */
export const hostile = JSON.stringify(['node', join(import.meta.dirname, '..', 'hostile-agent.mjs')]);

/** A dom0 root with the 1.0 packages installed. */
export const oldRoot = { install: (f: Parameters<ScenarioOptions['install']>[0]) => f.packages.v1.map((p) => p.path) };
