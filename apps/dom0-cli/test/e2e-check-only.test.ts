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

  it('says it is NOT known whether updates are available when the agent is killed, and names only the agent when a signal stops the check', async () => {
    const killed = JSON.stringify(['node', '-e', "process.kill(process.pid, 'SIGKILL')"]);
    const r = await s.run(['--check-only'], { DOM0_UPDATES_AGENT_COMMAND: killed });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('the check for updates failed: it is NOT known whether updates are available: the agent ended abnormally (SIGKILL) [TRANSPORT_FAILED]');
    // a check has no receiver of dom0-update's own: only the agent is said to be stopped
    const hanging = s.start(['--check-only'], { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['node', '-e', "console.log('agent up'); setInterval(() => {}, 1000)"]) });
    while (!hanging.stdoutSoFar().includes('[local] agent up')) await new Promise((resolve) => setTimeout(resolve, 50));
    process.kill(hanging.pid, 'SIGTERM');
    const stopped = await hanging.exited;
    expect(stopped.exitCode).toBe(143);
    expect(stopped.stderr).toContain("interrupted by SIGTERM: the UpdateVM's agent was stopped; nothing was installed");
  });

  it('prints JSON progress lines ending in a done record', async () => {
    const r = await s.run(['--check-only', '--json-progress']);
    expect(r.exitCode).toBe(100);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'progress', stage: 'lock' });
    expect(lines.at(-1)).toEqual({ type: 'done', status: 'updates_available', exitCode: 100, percent: 100 });
  });
});
