// dom0-update end to end: a package left installed twice (what a dnf killed midway leaves) is said on every run.
import { buildPackage } from '@dom0-updates/fixtures';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { hostile, oldRoot, scenariosClosedAfterEach } from './support/e2e-scenarios.ts';

const scenario = scenariosClosedAfterEach();

describe('dom0-update and a package installed twice in one arch', () => {
  it('warns that dom0 holds two versions of a package dnf keeps once, naming both and the command that mends it, but not of an install-only package', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const kmod1 = await buildPackage({ name: 'dom0-kmod', version: '1.0', provides: ['installonlypkg(kernel)'] }, { key: 'trusted-rsa' });
    const kmod2 = await buildPackage({ name: 'dom0-kmod', version: '2.0', provides: ['installonlypkg(kernel)'] }, { key: 'trusted-rsa' });
    const hello2 = s.fixtures.packages.v2.find((p) => p.name === 'dom0-hello')!;
    // beside the installed 1.0, as a killed transaction leaves it; and a kernel-like package kept side by side on purpose
    for (const path of [hello2.path, kmod1.path, kmod2.path]) {
      await execa('rpm', ['--root', s.dom0.root, '--dbpath', '/var/lib/rpm', '-i', '--replacefiles', '--nodeps', path]);
    }
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_RAW: '' });
    expect(r.stderr).toContain("warning: dom0's rpm database holds more than one version of dom0-hello.noarch (1.0-1, 2.0-1), which dnf keeps only once");
    expect(r.stderr).toContain('`dnf remove --duplicates` in dom0 removes the older versions');
    expect(r.stderr).not.toContain('dom0-kmod');
    expect(r.exitCode).toBe(0);
    // the daily check says it too
    const check = await s.run(['--check-only'], { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; exit 0']) });
    expect(check.stderr).toContain("warning: dom0's rpm database holds more than one version of dom0-hello.noarch (1.0-1, 2.0-1)");
    expect(check.exitCode).toBe(0);
  });
});
