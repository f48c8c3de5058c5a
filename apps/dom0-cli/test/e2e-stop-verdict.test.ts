/**
 * When dom0-update itself stops a run (the agent's deadline, or its output flood guard) while dom0's
 * receiver is mid-batch, the receiver records its own SIGTERM as RECEIVE_INTERRUPTED. That record
 * is dom0-update's doing, not a verdict on the UpdateVM's packages: the run must fail with the
 * reason dom0-update stopped it (AGENT_TIMEOUT, AGENT_OUTPUT_FLOOD), not as a REJECTED batch
 * "interrupted by SIGTERM" that nobody sent.
 */
import { installedPackages } from '@dom0-updates/fixtures';
import { afterEach, describe, expect, it } from 'vitest';
import { makeScenario, type Scenario } from './harness.ts';

const V1 = ['dom0-hello-1.0-1.noarch', 'dom0-libgreet-1.0-1.noarch', 'dom0-tool-1.0-1.noarch'];

let open: Scenario[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

async function scenario(): Promise<Scenario> {
  const s = await makeScenario({ install: (f) => f.packages.v1.map((p) => p.path), serve: (f) => f.repos.v2 });
  open.push(s);
  return s;
}

describe('a run dom0-update stops while its receiver is mid-batch', () => {
  it('says AGENT_TIMEOUT when the stream began late and stalled (a slow mirror), not REJECTED', { timeout: 60_000 }, async () => {
    const s = await scenario();
    // TIMEOUT 2: the agent's deadline is 7 s; its stream starts at 6 s, so the receiver's own 2 s
    // would end at 8 s: dom0-update's deadline comes first
    const agent = JSON.stringify(['sh', '-c', 'cat >/dev/null; sleep 6; printf x >&3; sleep 30']);
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: agent, DOM0_UPDATES_TIMEOUT: '2' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('[AGENT_TIMEOUT]');
    expect(r.stderr).not.toContain('[REJECTED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('says AGENT_OUTPUT_FLOOD when the agent floods after its stream began, not REJECTED', { timeout: 60_000 }, async () => {
    const s = await scenario();
    const agent = JSON.stringify(['sh', '-c', 'cat >/dev/null; printf x >&3; yes "updatevm-agent: downloading"']);
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: agent });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('[AGENT_OUTPUT_FLOOD]');
    expect(r.stderr).not.toContain('[REJECTED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });
});
