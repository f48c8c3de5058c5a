// dom0-update end to end: what it withholds from dnf (new arches, Obsoletes, renames) and what dnf leaves out.
import { mkdirSync, readdirSync } from 'node:fs';
import { machine } from 'node:os';
import { join } from 'node:path';
import { buildPackage, installedPackages } from '@dom0-updates/fixtures';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { jsonLines } from './harness.ts';
import { batchDir, hostile, oldRoot, scenariosClosedAfterEach, V1, V2 } from './support/e2e-scenarios.ts';

const scenario = scenariosClosedAfterEach();

/**
 * dom0-lib 1.0 installed in `libArch` beside dom0-app 1.0 (x86_64); the UpdateVM sends dom0-lib 2.0
 * for x86_64 and for i686, and a dom0-app 2.0 that requires what only the i686 build provides.
 */
async function multilibUpdate(libArch: 'x86_64' | 'noarch') {
  const build = (name: string, version: string, arch: 'x86_64' | 'i686' | 'noarch', more: { requires?: string[]; provides?: string[] } = {}, outDir?: string) =>
    buildPackage({ name, version, arch, ...more }, { key: 'trusted-rsa', ...(outDir === undefined ? {} : { outDir }) });
  const lib1 = await build('dom0-lib', '1.0', libArch);
  const app1 = await build('dom0-app', '1.0', 'x86_64', { requires: ['dom0-lib'] });
  const s = await scenario({ install: () => [lib1.path, app1.path], serve: (f) => f.repos.v2 });
  const outDir = batchDir(s);
  const lib2 = await build('dom0-lib', '2.0', 'x86_64', {}, outDir);
  const lib2i686 = await build('dom0-lib', '2.0', 'i686', { provides: ['libdom0lib32'] }, outDir);
  const app2 = await build('dom0-app', '2.0', 'x86_64', { requires: ['libdom0lib32'] }, outDir);
  const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [lib2.path, lib2i686.path, app2.path].join(':') });
  return { s, r };
}

describe('dom0-update and a new arch of an installed name (multilib)', () => {
  it('does not install an i686 build beside the installed x86_64 one as a dependency of an update, until it is named with its arch', async () => {
    const { s, r } = await multilibUpdate('x86_64');
    expect(r.stdout).toContain('Not offered to dnf (a new arch of an installed name, not requested: name it with its arch to install it): dom0-lib-0:2.0-1.i686 (installed: x86_64)');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('verified update dom0-app-2.0-1.x86_64 of the installed dom0-app.x86_64 1.0-1 was not installed');
    expect(r.stderr).toContain('[INSTALL_INCOMPLETE]');
    expect(await installedPackages(s.dom0)).toEqual(['dom0-app-1.0-1.x86_64', 'dom0-lib-2.0-1.x86_64']);
    // named with its arch it comes in (still cached; the agent sends nothing new), and then the update can follow
    const nothing = { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_RAW: '' };
    expect((await s.run(['-y', 'dom0-lib.i686'], nothing)).exitCode).toBe(0);
    expect((await s.run(['-y'], nothing)).exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(['dom0-app-2.0-1.x86_64', 'dom0-lib-2.0-1.i686', 'dom0-lib-2.0-1.x86_64']);
  });
});

describe('dom0-update and a name installed as noarch that turns arch-specific', () => {
  // the builds and the expectations are x86_64's; dom0 is x86_64
  it.runIf(machine() === 'x86_64')('upgrades it to the machine\'s arch and does not add an i686 build beside it as a dependency', async () => {
    const { s, r } = await multilibUpdate('noarch');
    expect(r.stdout).toContain('Not offered to dnf (a new arch of an installed name, not requested: name it with its arch to install it): dom0-lib-0:2.0-1.i686 (installed: noarch)');
    expect(r.stderr).toContain('verified update dom0-app-2.0-1.x86_64 of the installed dom0-app.x86_64 1.0-1 was not installed');
    expect(r.exitCode).toBe(1);
    // the noarch package became the x86_64 build, and no i686 one came in beside it
    expect(await installedPackages(s.dom0)).toEqual(['dom0-app-1.0-1.x86_64', 'dom0-lib-2.0-1.x86_64']);
    // said as the one update it is, not a removal and an install
    expect(r.stdout).toContain('  upgraded dom0-lib.x86_64 1.0-1 (noarch) -> 2.0-1');
    expect(r.stdout).not.toMatch(/removed dom0-lib|installed dom0-lib/);
    expect(r.stderr).toContain('dom0\'s dnf made 1 change(s) but left out 1 verified update(s)');
  });
});

describe('dom0-update and a build of an arch dom0 does not run', () => {
  // an x86_64 dom0 and a signed aarch64 build: dnf's solver never installs it
  it.runIf(machine() === 'x86_64')('neither offers it, nor counts it, nor calls it a missed update, nor says naming it would let it in', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = batchDir(s);
    const foreign = await buildPackage({ name: 'dom0-hello', version: '3.0', arch: 'aarch64', requires: ['dom0-libgreet >= 1.0'] }, { key: 'trusted-rsa', outDir });
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: foreign.path });
    expect(r.stdout).toContain('Not offered to dnf (an arch this machine, x86_64, does not run): dom0-hello-0:3.0-1.aarch64');
    expect(r.stdout).toContain("Verified package dom0-hello-3.0-1.aarch64 was not installed: dom0's dnf leaves it out, as this machine (x86_64) does not run aarch64 builds.");
    expect(r.stdout).not.toContain('name it with its arch');
    expect([r.exitCode, r.stderr]).toEqual([0, expect.not.stringContaining('was not installed') as string]);
    expect(await installedPackages(s.dom0)).toEqual(V1);
    // a check counts it no more than the install did
    const check = await s.run(['--check-only'], { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; exit 0']) });
    expect([check.exitCode, check.stdout]).toEqual([0, expect.stringContaining('holds nothing newer than what is installed') as string]);
  });
});

describe('dom0-update and Obsoletes in an upgrade', () => {
  it('withholds the build of an installed name whose Obsoletes would remove another installed package, until it is named', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = batchDir(s);
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', obsoletes: ['dom0-hello'] }, { key: 'trusted-rsa', outDir });
    const sent = [...s.fixtures.packages.v2.map((p) => p.path), tool3.path];
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: sent.join(':') });
    expect(r.stdout).toContain('Not offered to dnf: dom0-tool-0:3.0-1.noarch, whose Obsoletes would replace the installed dom0-hello.noarch 1.0-1');
    expect(r.stderr).toContain('warning: verified package dom0-tool-3.0-1.noarch was not installed: its Obsoletes would replace the installed dom0-hello.noarch 1.0-1');
    expect(r.stderr).not.toContain('unrequested package received and not installed: dom0-tool');
    // the other build of the same name still comes in
    expect(r.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(V2);
    // named, the user accepts it, and dnf replaces dom0-hello as it declares
    const named = await s.run(['-y', 'dom0-tool'], { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null']) });
    expect(named.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(['dom0-libgreet-2.0-1.noarch', 'dom0-tool-3.0-1.noarch']);
    // the removal is said as well as listed: with -y the UpdateVM chose which signed build came in
    expect(named.stdout).toContain('  removed dom0-hello.noarch 2.0-1');
    expect(named.stderr).toContain(
      "warning: dom0's dnf removed dom0-hello.noarch 2.0-1, which the command line did not name: a package that came in replaced it through its Obsoletes: (dnf's output above says which)",
    );
  });
});

describe('dom0-update and a package renamed upstream', () => {
  it('withholds a new name whose Obsoletes replace an installed package, says so and how to accept it, and the advice works', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = batchDir(s);
    const renamed = await buildPackage({ name: 'dom0-hello-ng', version: '3.0', obsoletes: ['dom0-hello < 3.0'] }, { key: 'trusted-rsa', outDir });
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: renamed.path });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(
      'unrequested package received and not installed: dom0-hello-ng-3.0-1.noarch (its Obsoletes would replace the installed dom0-hello.noarch 1.0-1: if your distribution announced that rename, install it by name: dom0-update dom0-hello-ng)',
    );
    expect(await installedPackages(s.dom0)).toEqual(V1);
    // the advice, from the cached repository (this UpdateVM sends nothing more)
    const named = await s.run(['-y', 'dom0-hello-ng'], { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null']) });
    expect(named.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(['dom0-hello-ng-3.0-1.noarch', 'dom0-libgreet-1.0-1.noarch', 'dom0-tool-1.0-1.noarch']);
  });
});

describe('dom0-update and Obsoletes of a requested package', () => {
  it('withholds an unnamed build whose Obsoletes would take the place of the update the user asked for', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = batchDir(s);
    // matches no installed version of dom0-hello, only the update the user asks for
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', obsoletes: ['dom0-hello >= 2.0'] }, { key: 'trusted-rsa', outDir });
    const sent = s.fixtures.packages.v2.filter((p) => !p.fileName.startsWith('dom0-tool-'));
    const r = await s.run(['-y', 'dom0-hello'], {
      DOM0_UPDATES_AGENT_COMMAND: hostile,
      HOSTILE_SEND: [...sent.map((p) => p.path), tool3.path].join(':'),
    });
    expect(r.stdout).toContain('Not offered to dnf: dom0-tool-0:3.0-1.noarch, whose Obsoletes would replace the requested dom0-hello');
    expect(r.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(['dom0-hello-2.0-1.noarch', 'dom0-libgreet-2.0-1.noarch', 'dom0-tool-1.0-1.noarch']);
  });
});

describe('dom0-update and Obsoletes when dnf fails', () => {
  it('says which builds it withheld for their Obsoletes when what was asked for needs one', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = batchDir(s);
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', obsoletes: ['dom0-hello'] }, { key: 'trusted-rsa', outDir });
    const plugin = await buildPackage({ name: 'dom0-plugin', version: '1.0', requires: ['dom0-tool >= 3.0'] }, { key: 'trusted-rsa', outDir });
    const r = await s.run(['-y', 'dom0-plugin'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [tool3.path, plugin.path].join(':') });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('[INSTALL_FAILED]');
    expect(r.stderr).toContain('dom0 withheld dom0-tool-0:3.0-1.noarch for their Obsoletes: name the package to accept that');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });
});

describe('dom0-update and a new dependency of a package installed by name', () => {
  it('says to name the withheld dependency in the same run as the requested package, which then installs both', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = batchDir(s);
    const plugin = await buildPackage({ name: 'dom0-plugin', version: '1.0', requires: ['dom0-newdep'] }, { key: 'trusted-rsa', outDir });
    const newdep = await buildPackage({ name: 'dom0-newdep', version: '1.0' }, { key: 'trusted-rsa', outDir });
    const env = { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [plugin.path, newdep.path].join(':') };
    const r = await s.run(['-y', '--best', 'dom0-plugin'], env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      'dom0 withheld dom0-newdep (neither installed nor requested): when an update needs one as a new dependency: if you expect it (a dependency your distribution added), name it in the same run as the package that needs it, `dom0-update dom0-plugin NAME`; if not, `--exclude=dom0-plugin` leaves the update out and `dom0-update --clean` drops it from the cache',
    );
    expect(r.stderr).toContain('[INSTALL_FAILED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
    // as the message says
    const both = await s.run(['-y', 'dom0-plugin', 'dom0-newdep'], env);
    expect(both.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual([...V1, 'dom0-newdep-1.0-1.noarch', 'dom0-plugin-1.0-1.noarch'].sort());
  });
});

describe('dom0-update when dnf leaves verified updates out', () => {
  it('says which verified updates of installed packages dnf did not install and exits 1, not "Nothing changed"', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = batchDir(s);
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', requires: ['dom0-newdep'] }, { key: 'trusted-ed25519', outDir });
    const newdep = await buildPackage({ name: 'dom0-newdep', version: '1.0' }, { key: 'trusted-rsa', outDir });
    // Without --best (the root's dnf.conf says best=False) dnf skips the update whose new dependency dom0 withheld.
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [tool3.path, newdep.path].join(':') });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('warning: verified update dom0-tool-3.0-1.noarch of the installed dom0-tool.noarch 1.0-1 was not installed');
    expect(r.stderr).toContain('[INSTALL_NOTHING_DONE]');
    // the cause the user can act on, first
    expect(r.stderr).toContain('arrived: the updates need a package dom0 withheld as neither installed nor requested (dom0-newdep: if you expect it (a dependency your distribution added), name it in the same run as the package that needs it, `dom0-update dom0-tool NAME`; if not, `--exclude=dom0-tool` leaves the update out and `dom0-update --clean` drops it from the cache)');
    expect(r.stderr).not.toContain('unrequested package received and not installed: dom0-tool');
    expect(r.stderr).toContain('unrequested package received and not installed: dom0-newdep-1.0-1.noarch');
    expect(r.stdout).not.toContain('Nothing changed');
    expect(await installedPackages(s.dom0)).toEqual(V1);
    // with --skip-broken the user asked dnf to leave such updates out: still named, not a failure
    const skipping = await s.run(['-y', '--skip-broken'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [tool3.path, newdep.path].join(':') });
    expect(skipping.stderr).toContain('warning: verified update dom0-tool-3.0-1.noarch of the installed dom0-tool.noarch 1.0-1 was not installed');
    expect(skipping.stderr).not.toContain('[INSTALL_NOTHING_DONE]');
    expect(skipping.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('fails an install by name that leaves the requested update out, not "Nothing changed"', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    // hello 2.0 needs libgreet 2.0, which the UpdateVM withholds; --nobest lets dnf keep hello 1.0
    const hello = s.fixtures.packages.v2.filter((p) => p.fileName.startsWith('dom0-hello-'));
    const r = await s.run(['-y', '--nobest', 'dom0-hello'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: hello.map((p) => p.path).join(':') });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('warning: verified update dom0-hello-2.0-1.noarch of the installed dom0-hello.noarch 1.0-1 was not installed');
    expect(r.stderr).toContain('[INSTALL_NOTHING_DONE]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('fails with INSTALL_INCOMPLETE when another upgrade went in but a verified update was left out', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    // hello 2.0 needs libgreet 2.0, which the UpdateVM withholds; tool 2.0 is harmless
    const sent = s.fixtures.packages.v2.filter((p) => !p.fileName.startsWith('dom0-libgreet-'));
    expect(sent).toHaveLength(2);
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: sent.map((p) => p.path).join(':') });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('warning: verified update dom0-hello-2.0-1.noarch of the installed dom0-hello.noarch 1.0-1 was not installed');
    expect(r.stderr).toContain('[INSTALL_INCOMPLETE]');
    expect(r.stderr).not.toContain('unrequested package received and not installed: dom0-hello');
    expect(await installedPackages(s.dom0)).toEqual(['dom0-hello-1.0-1.noarch', 'dom0-libgreet-1.0-1.noarch', 'dom0-tool-2.0-1.noarch']);
  });
});

describe('dom0-update when dnf fails part way through its transaction', () => {
  it('reports the upgrades dnf made before it failed, and says so in the INSTALL_FAILED line', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = batchDir(s);
    // a validly signed dom0-tool 3.0 whose file lands where dom0 has a directory no package owns:
    // rpm's transaction test passes, unpacking it fails, and dnf exits 1 after the other upgrades
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', payloadBytes: 16 }, { key: 'trusted-ed25519', outDir });
    mkdirSync(join(s.dom0.root, 'usr/share/dom0-tool/payload.bin/occupied'), { recursive: true });
    const batch = [...s.fixtures.packages.v2.filter((p) => p.name !== 'dom0-tool').map((p) => p.path), tool3.path];
    const r = await s.run(['-y', '--json-progress'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: batch.join(':') });
    expect(r.exitCode).toBe(1);
    expect(await installedPackages(s.dom0)).toEqual(['dom0-hello-2.0-1.noarch', 'dom0-libgreet-2.0-1.noarch', 'dom0-tool-1.0-1.noarch']);
    const changes = jsonLines(r.stdout).filter((l) => l['type'] === 'change');
    expect(changes).toEqual([
      expect.objectContaining({ change: 'upgraded', name: 'dom0-hello.noarch', to: '2.0-1' }),
      expect.objectContaining({ change: 'upgraded', name: 'dom0-libgreet.noarch', to: '2.0-1' }),
    ]);
    expect(jsonLines(r.stdout)).toContainEqual({
      type: 'error',
      code: 'INSTALL_FAILED',
      message: expect.stringContaining('before it failed, dnf made 2 change(s) in dom0 (upgraded dom0-hello.noarch 1.0-1 -> 2.0-1, upgraded dom0-libgreet.noarch 1.0-1 -> 2.0-1): check them (rpm -q, dnf history)') as string,
    });
  });
});

describe('dom0-update with a TMPDIR that fills up', () => {
  it('says the temporary directory is full (CONFIG_TMPDIR_UNUSABLE, not INTERNAL), leaves nothing in it, and the next run installs from the cache', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const tmp = join(s.dir, 'full-tmp');
    mkdirSync(tmp);
    // TMPDIR passes the check before the lock (a writable directory) but has no room left
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', tmp]);
    try {
      await execa('sh', ['-c', 'dd if=/dev/zero of="$0/fill" bs=4k 2>/dev/null || true', tmp]);
      const r = await s.run(['-y'], { TMPDIR: tmp });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`the temporary directory ${tmp} (TMPDIR) cannot be used: it is full (ENOSPC)`);
      expect(r.stderr).toContain('[CONFIG_TMPDIR_UNUSABLE]');
      expect(readdirSync(tmp)).toEqual(['fill']);
      expect(await installedPackages(s.dom0)).toEqual(V1);
    } finally {
      await execa('umount', [tmp]);
    }
    const silent = { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; exit 0']) };
    expect((await s.run(['-y'], silent)).exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(V2);
  });
});
