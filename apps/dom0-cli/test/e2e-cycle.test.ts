import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFixtures, buildPackage, installedPackages } from '@dom0-updates/fixtures';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { SNAPSHOT_PREFIX } from '../src/repo-snapshot.ts';
import { jsonLines, makeRepo, makeScenario, type Scenario } from './harness.ts';
import { BUNDLES } from './support/build-bundles.ts';
import { killPidFile, settledState } from './support/process-state.ts';

const V1 = ['dom0-hello-1.0-1.noarch', 'dom0-libgreet-1.0-1.noarch', 'dom0-tool-1.0-1.noarch'];
const V2 = ['dom0-hello-2.0-1.noarch', 'dom0-libgreet-2.0-1.noarch', 'dom0-tool-2.0-1.noarch'];

let open: Scenario[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

async function scenario(options: Parameters<typeof makeScenario>[0]): Promise<Scenario> {
  const s = await makeScenario(options);
  open.push(s);
  return s;
}

/** A file in the agent's dnf cache that only a clean removes; returns its path. */
function agentCacheMarker(s: Scenario): string {
  const cache = join(s.dir, 'agent', 'cache');
  mkdirSync(cache, { recursive: true });
  writeFileSync(join(cache, 'marker'), 'stale');
  return join(cache, 'marker');
}

const hostile = JSON.stringify(['node', join(import.meta.dirname, 'hostile-agent.mjs')]);

const oldRoot = { install: (f: Parameters<Parameters<typeof makeScenario>[0]['install']>[0]) => f.packages.v1.map((p) => p.path) };

describe('dom0-update end to end (local transport, real agent, receiver and dnf)', () => {
  it('upgrades a dom0 root from 1.0 to 2.0 through the loopback mirror, then finds nothing to do', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    expect(await installedPackages(s.dom0)).toEqual(V1);

    const first = await s.run(['-y']);
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(V2);
    for (const nevra of V2) expect(first.stdout).toContain(`verified ${nevra}`);
    expect(first.stdout).toContain('upgraded dom0-tool.noarch 1.0-1 -> 2.0-1');
    expect(first.stdout).not.toContain('dom0-extra');

    const second = await s.run(['-y']);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain('No updates');
    expect(await installedPackages(s.dom0)).toEqual(V2);
  });

  it('upgrades with --nobest, which reaches the UpdateVM\'s dnf instead of its own --best', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['--nobest', '-y']);
    expect(r.stdout).not.toContain('not allowed with argument --nobest');
    expect(r.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(V2);
    // by name, --nobest lets dnf take an installed package as installed (README, step 10): no error
    const named = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const byName = await named.run(['--nobest', '-y', 'dom0-hello']);
    expect([byName.exitCode, byName.stdout]).toEqual([0, expect.stringContaining('Nothing to do: dom0-hello installed') as string]);
  });

  it('completes the upgrade when the reader of its output left before dnf ran (`dom0-update -y | head -1`), and shows dnf\'s output on stderr', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.runReaderGone(['-y']);
    expect(r.stderr).not.toMatch(/SIGPIPE|EPIPE|INSTALL_FAILED/);
    expect(r.stderr).toContain('Complete!');
    expect(r.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(V2);
  });

  it('has dnf read the rpmdb at RPMDB_PATH, whatever HOME holds (Debian\'s rpm would read ~/.rpmdb)', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const bareHome = join(s.dir, 'bare-home');
    mkdirSync(bareHome);
    const r = await s.run(['-y'], { HOME: bareHome });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('upgraded dom0-tool.noarch 1.0-1 -> 2.0-1');
    expect(r.stderr).not.toContain('unrequested');
    expect(await installedPackages(s.dom0)).toEqual(V2);
  });

  it('upgrades with an updates dir and key files whose paths hold a space, a comma and a `$`, which dnf would split or expand', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const odd = join(s.dir, 'my updates,1 $basearch');
    mkdirSync(odd);
    const keys = s.fixtures.trustedKeyPaths.map((key, i) => {
      const copy = join(odd, `key ${i},pinned.asc`);
      copyFileSync(key, copy);
      return `--keyring=${copy}`;
    });
    const r = await s.run(['-y', `--updates-dir=${join(odd, 'updates')}`, ...keys]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(V2);
    expect(readdirSync(join(odd, 'updates', 'repo'))).toContain('repodata');
  });

  it('installs a named package and reports it in --json-progress lines', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y', '--json-progress', 'dom0-extra']);
    expect(r.exitCode).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines).toContainEqual(expect.objectContaining({ type: 'package', status: 'verified', nevra: 'dom0-extra-1.0-1.noarch' }));
    expect(lines).toContainEqual({ type: 'change', change: 'installed', name: 'dom0-extra.noarch', from: null, to: '1.0-1' });
    expect(lines.at(-1)).toEqual({ type: 'done', status: 'success', exitCode: 0, percent: 100 });
    expect(lines.map((l) => l['stage']).filter(Boolean)).toEqual(['lock', 'sync', 'download', 'verify', 'install', 'check']);
    expect(await installedPackages(s.dom0)).toEqual([...V1, 'dom0-extra-1.0-1.noarch'].sort());
    // dnf read a snapshot of the generation, removed when it was done
    expect(readdirSync(s.updatesDir).filter((name) => name.startsWith(SNAPSHOT_PREFIX))).toEqual([]);
  });

  it('shows dnf\'s summary and prompt on stderr while it waits for an answer with --json-progress and no -y', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const run = s.start(['--json-progress']);
    const deadline = Date.now() + 60_000;
    while (!/Is this ok/.test(run.stderrSoFar()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // dnf is still waiting: the prompt came as dnf printed it, not after it exited
    expect(run.stderrSoFar()).toMatch(/Is this ok/);
    expect(run.stderrSoFar()).toMatch(/Upgrad/);
    run.answer('y\n');
    const r = await run.exited;
    expect(r.exitCode, r.stderr).toBe(0);
    // stdout carries only the JSON lines
    expect(() => jsonLines(r.stdout)).not.toThrow();
    expect(r.stdout).not.toMatch(/Is this ok/);
    expect(await installedPackages(s.dom0)).toEqual(V2);
  });

  it('installs a package named by a [...] glob, which dnf reads as a glob too (never withheld)', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y', 'dom0-extr[a-c]']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('Not offered to dnf');
    expect(await installedPackages(s.dom0)).toEqual([...V1, 'dom0-extra-1.0-1.noarch'].sort());
  });

  it('updates an installed package named on the command line (the default action, install), with the dependency it was sent with', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y', 'dom0-hello']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('upgraded dom0-hello.noarch 1.0-1 -> 2.0-1');
    expect(r.stderr).not.toContain('unrequested');
    expect(await installedPackages(s.dom0)).toEqual(['dom0-hello-2.0-1.noarch', 'dom0-libgreet-2.0-1.noarch', 'dom0-tool-1.0-1.noarch']);
  });

  it('reinstalls with --action=reinstall', async () => {
    const s = await scenario({ install: (f) => f.packages.v2.map((p) => p.path), serve: (f) => f.repos.v2 });
    const r = await s.run(['-y', '--verbose', '--action=reinstall', 'dom0-tool']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('reinstalled dom0-tool.noarch 2.0-1');
    // dom0's verbose dnf takes every setting of the generated repo file.
    expect(r.stdout + r.stderr).toContain('dom0-updates-cached');
    expect(r.stdout + r.stderr).not.toContain('Unknown configuration option');
  });

  it('downgrades a named package with --action=downgrade', async () => {
    const s = await scenario({ install: (f) => f.packages.v2.map((p) => p.path), serve: (f) => f.repos.v2 });
    const r = await s.run(['-y', '--action', 'downgrade', 'dom0-tool']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('downgraded dom0-tool.noarch 2.0-1 -> 1.0-1');
    expect(await installedPackages(s.dom0)).toEqual([V2[0], V2[1], 'dom0-tool-1.0-1.noarch']);
  });

  it('names a prompt nobody could answer as INSTALL_FAILED, hints -y, leaves out dnf\'s command line and installs nothing', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    // no -y: dnf asks, and its stdin (here /dev/null) answers nothing, as a "no" would
    const r = await s.run([]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('[INSTALL_FAILED]');
    expect(r.stderr).toContain("dom0's dnf upgrade exited with code 1; its output above says why (with no terminal to ask on, dnf takes no answer as a no: add -y to answer yes)");
    expect(r.stderr).toContain("The verified packages stay in dom0's cached repository");
    expect(r.stderr).not.toContain('--installroot');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('receives and verifies but installs nothing with --downloadonly', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const marker = agentCacheMarker(s);
    const r = await s.run(['--downloadonly', '--clean']);
    expect(r.exitCode).toBe(0);
    // --clean reached the UpdateVM through request.json: its dnf cache was emptied.
    expect(r.stdout).toContain('[local] cache cleaned');
    expect(existsSync(marker)).toBe(false);
    expect(r.stdout).toContain('not installed (--downloadonly)');
    expect(await installedPackages(s.dom0)).toEqual(V1);
    expect(existsSync(join(s.updatesDir, 'repo', 'repodata'))).toBe(true);
  });

  it('installs updates an earlier --downloadonly run verified when the UpdateVM then sends nothing, and only then says "No updates"', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    expect((await s.run(['--downloadonly'])).exitCode).toBe(0);
    const silent = { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; exit 0']) };
    // a --downloadonly run with nothing sent installs nothing and has nothing to say
    const fetchOnly = await s.run(['--downloadonly'], silent);
    expect([fetchOnly.exitCode, fetchOnly.stdout]).toEqual([0, expect.stringContaining('No updates: the UpdateVM sent no packages.') as string]);
    const r = await s.run(['-y', '--json-progress'], silent);
    expect(r.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(V2);
    const lines = jsonLines(r.stdout);
    expect(lines).toContainEqual(expect.objectContaining({ type: 'message', text: expect.stringContaining("dom0's cached repository holds 3 verified update(s) from earlier runs: dom0-") as string }));
    expect(lines.filter((l) => l['type'] === 'change')).toHaveLength(3);
    expect(lines.at(-1)).toEqual({ type: 'done', status: 'success', exitCode: 0, percent: 100 });
    const again = await s.run(['-y'], silent);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("No updates: the UpdateVM sent no packages, and dom0's cached repository holds nothing newer than what is installed.");
  });

  it('installs only the named package\'s cached update when the UpdateVM sends nothing, and calls none of the others unrequested', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    expect((await s.run(['--downloadonly'])).exitCode).toBe(0);
    const silent = { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; exit 0']) };
    const r = await s.run(['-y', '--action=upgrade', 'dom0-tool'], silent);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("dom0's cached repository holds 1 verified update(s) from earlier runs: dom0-tool-2.0-1.noarch");
    expect(r.stderr).not.toContain('unrequested');
    expect(await installedPackages(s.dom0)).toEqual(['dom0-hello-1.0-1.noarch', 'dom0-libgreet-1.0-1.noarch', 'dom0-tool-2.0-1.noarch']);
  });

  it('with --clean, empties the UpdateVM\'s cache and runs dom0\'s dnf clean all before installing', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const marker = agentCacheMarker(s);
    const r = await s.run(['-y', '--clean']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('[local] cache cleaned');
    expect(existsSync(marker)).toBe(false);
    // dnf clean all reports what it removed, before the install step starts.
    expect(r.stdout).toMatch(/\d+ files? removed[\s\S]*Installing from the cached repository/);
    expect(await installedPackages(s.dom0)).toEqual(V2);
  });

  it('with --clean, empties dom0\'s cached repository before asking the UpdateVM: what earlier runs cached is gone', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    expect((await s.run(['--downloadonly'])).exitCode).toBe(0);
    const cachedBefore = readdirSync(join(s.updatesDir, 'generations'));
    expect(readdirSync(join(s.updatesDir, 'repo')).filter((n) => n.endsWith('.rpm'))).toHaveLength(3);

    const r = await s.run(['-y', '--clean']);
    expect(r.exitCode).toBe(0);
    // emptied first, then the UpdateVM (its cache cleaned too) sends the builds again
    expect(r.stdout).toMatch(/\[dom0-receiver\] emptied the cached repository: 3 package\(s\)[\s\S]*\[local\] cache cleaned[\s\S]*Received and verified 3 package/);
    expect(await installedPackages(s.dom0)).toEqual(V2);
    const generations = readdirSync(join(s.updatesDir, 'generations'));
    for (const old of cachedBefore) expect(generations).not.toContain(old);
    expect(readdirSync(join(s.updatesDir, 'repo')).filter((n) => n.endsWith('.rpm')).sort()).toEqual(V2.map((n) => `${n}.rpm`));
  });

  it('stops before asking the UpdateVM when --clean cannot empty the cached repository', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const marker = agentCacheMarker(s);
    // `repo` must be the receiver's symlink: a directory there is a configuration it refuses
    mkdirSync(join(s.updatesDir, 'repo'), { recursive: true });
    const r = await s.run(['-y', '--clean']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/emptying the cached repository failed: dom0's receiver exited with 1 \(clean failed: CONFIG_INVALID: .*not a symlink.*\); nothing was asked of the UpdateVM \[CLEAN_FAILED\]/);
    expect(r.stdout).not.toContain('[local]');
    expect(existsSync(marker)).toBe(true);
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('prints nothing on stdout with --silent and still upgrades', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y', '--silent', '--best']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe('');
    expect(await installedPackages(s.dom0)).toEqual(V2);
  });

  it('rejects an unsigned package: non-zero exit, names the package and reason, installs nothing', async () => {
    const f = await buildFixtures();
    // The mirror serves unsigned 2.0 packages; the UpdateVM's dnf (gpgcheck off) downloads them.
    const unsigned = await makeRepo([...f.packages.v1.map((p) => p.path), ...f.unsigned.map((p) => p.path)]);
    const s = await scenario({ ...oldRoot, serve: () => unsigned, updateVmGpgcheck: false });
    const r = await s.run(['-y']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/rejected dom0-[a-z]+-2\.0-1\.noarch\.rpm: .+ \[[A-Z0-9_]+\]/);
    expect(r.stderr).toContain('[REJECTED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('lists a validly signed package nobody asked for as unrequested and does not install it', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const extra = s.fixtures.packages.extra.map((p) => p.path);
    const r = await s.run(['-y'], {
      DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['node', join(import.meta.dirname, 'hostile-agent.mjs')]),
      HOSTILE_SEND: extra.join(':'),
    });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('unrequested package received and not installed: dom0-extra-1.0-1.noarch');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('calls an older version sent for a named install an attempted rollback, and installs nothing', async () => {
    const s = await scenario({ install: (f) => f.packages.v2.map((p) => p.path), serve: (f) => f.repos.v2 });
    const old = s.fixtures.packages.v1.filter((p) => p.path.includes('dom0-tool-1.0')).map((p) => p.path);
    expect(old).toHaveLength(1);
    const r = await s.run(['-y', 'dom0-tool'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: old.join(':') });
    expect(r.stderr).toContain('requested package dom0-tool-1.0-1.noarch was received but is not installed (older than the installed 2.0-1: an attempted rollback)');
    expect(await installedPackages(s.dom0)).toEqual(V2);
  });

  it('never rolls back an installed package to satisfy what a named install requires, even with the old build cached earlier', async () => {
    const s = await scenario({ install: (f) => f.packages.v2.map((p) => p.path), serve: (f) => f.repos.v2 });
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
    const oldHello = s.fixtures.packages.v1.find((p) => p.fileName.startsWith('dom0-hello-1.0'));
    if (oldHello === undefined) throw new Error('no dom0-hello 1.0 fixture');
    // an earlier batch leaves the old, validly signed build in dom0's cached repository...
    const first = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: oldHello.path });
    expect(first.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(V2);
    // ...and a later one sends a new package that needs exactly that build
    const lure = await buildPackage({ name: 'dom0-lure', version: '1.0', requires: ['dom0-hello = 1.0-1'] }, { key: 'trusted-rsa', outDir });
    const r = await s.run(['-y', 'dom0-lure'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: lure.path });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('[INSTALL_FAILED]');
    expect(r.stderr).toContain('dom0 withheld 1 build(s) older than the installed version of their name (a rollback, e.g. dom0-hello-0:1.0-1.noarch < dom0-hello.noarch 2.0-1)');
    expect(await installedPackages(s.dom0)).toEqual(V2);
    // asked for by name as a downgrade, the old build is still there to take
    const down = await s.run(['-y', '--action=downgrade', 'dom0-hello'], { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null']) });
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toContain('downgraded dom0-hello.noarch 2.0-1 -> 1.0-1');
  });

  it('withholds an unrequested package whose name reads as another package\'s name.arch or N-V-R.A, which dnf would take for the other one', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
    const key = { key: 'trusted-rsa' as const, outDir };
    // a new dom0-hello needs a capability only the look-alike provides
    const hello3 = await buildPackage({ name: 'dom0-hello', version: '3.0', requires: ['dom0-libgreet >= 1.0', 'evilcap'] }, key);
    for (const name of ['dom0-tool.noarch', 'dom0-libgreet-1.0-1.noarch']) {
      const lookalike = await buildPackage({ name, version: '2.0', provides: ['evilcap'] }, key);
      const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [hello3.path, lookalike.path].join(':') });
      expect(r.stdout).toContain(`Not offered to dnf (in the cached repository, but neither installed nor requested): ${name}`);
      // dom0-hello 3.0 cannot be resolved without it: nothing of the batch's hello comes in
      expect(r.exitCode).toBe(1);
      const installed = await installedPackages(s.dom0);
      expect(installed.some((nevra) => nevra.startsWith(`${name}-`))).toBe(false);
      expect(installed).not.toContain('dom0-hello-3.0-1.noarch');
    }
  });

  it('does not let an unrequested look-alike named `NAME.ARCH` replace the package asked for by name through its Obsoletes', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
    const lookalike = await buildPackage({ name: 'dom0-tool.noarch', version: '1.0', obsoletes: ['dom0-tool < 99'] }, { key: 'trusted-rsa', outDir });
    const r = await s.run(['-y', 'dom0-tool'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: lookalike.path });
    expect(r.stdout).toContain('Not offered to dnf (in the cached repository, but neither installed nor requested): dom0-tool.noarch');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('applies an exclusion set with --setopt in dom0 too, whatever the UpdateVM sent, and does not call it a missed update', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const all = s.fixtures.packages.v2.map((p) => p.path);
    const r = await s.run(['-y', '--setopt=excludepkgs=dom0-hello'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: all.join(':') });
    expect(r.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual([V1[0], V2[1], V2[2]]);
    expect(r.stderr).not.toContain('was not installed');
  });

  it('withholds cached builds signed by a key KEYRING no longer pins, though the receiver took them when it did', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const fetched = await s.run(['--downloadonly']);
    expect(fetched.exitCode).toBe(0);
    const rsaOnly = s.fixtures.trustedKeyPaths.find((p) => p.includes('trusted-rsa'));
    if (rsaOnly === undefined) throw new Error('no trusted-rsa key file');
    const libgreet = s.fixtures.packages.v2.find((p) => p.fileName.startsWith('dom0-libgreet-2.0'));
    if (libgreet === undefined) throw new Error('no dom0-libgreet 2.0 fixture');
    // the Ed25519 key is unpinned; the UpdateVM resends a package the remaining key signed
    const r = await s.run(['-y', `--keyring=${rsaOnly}`], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: libgreet.path });
    expect(r.exitCode).toBe(0);
    const edKeyId = s.fixtures.keys['trusted-ed25519'].fingerprint.toLowerCase().slice(-16);
    expect(r.stderr).toContain(`not offered to dnf: 1 cached build(s) signed by a key KEYRING no longer pins (dom0-tool-0:2.0-1.noarch by key ID ${edKeyId})`);
    expect(await installedPackages(s.dom0)).toEqual([V2[0], V2[1], V1[2]]);
    // nothing new sent: the withheld build is still said, and "nothing newer" is qualified
    const again = await s.run(['-y', `--keyring=${rsaOnly}`], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_RAW: '' });
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain(`not offered to dnf: 1 cached build(s) signed by a key KEYRING no longer pins (dom0-tool-0:2.0-1.noarch by key ID ${edKeyId})`);
    expect(again.stdout).toContain("dom0's cached repository holds nothing newer than what is installed that dom0 offers to dnf.");
  });

  it('does not pull in a new dependency nobody named: the upgrade needing it stays out, and naming it lets it in', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    // The stand-in agent tars files from one directory.
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', requires: ['dom0-newdep'] }, { key: 'trusted-ed25519', outDir });
    const newdep = await buildPackage({ name: 'dom0-newdep', version: '1.0' }, { key: 'trusted-rsa', outDir });
    const env = { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [tool3.path, newdep.path].join(':') };
    const r = await s.run(['-y', '--best'], env);
    expect(r.stdout).toContain('Not offered to dnf (in the cached repository, but neither installed nor requested): dom0-newdep');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('dom0 withheld dom0-newdep');
    expect(r.stderr).toContain('[INSTALL_FAILED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
    // An empty batch next hides nothing: the cached update dnf cannot take is still a failure
    const empty = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_RAW: '00'.repeat(1024) });
    expect(empty.exitCode).toBe(1);
    expect(empty.stderr).toContain('verified update dom0-tool-3.0-1.noarch of the installed dom0-tool.noarch 1.0-1 was not installed');
    expect(empty.stderr).toContain('[INSTALL_NOTHING_DONE]');
    // Named, it comes in (still in the cached repository; the agent sends nothing new)...
    const named = await s.run(['-y', 'dom0-newdep'], { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null']) });
    expect(named.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual([...V1, 'dom0-newdep-1.0-1.noarch'].sort());
    // ...and, now installed, it no longer holds the upgrade back.
    const again = await s.run(['-y', '--best'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: tool3.path });
    expect(again.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual([V1[0], V1[1], 'dom0-newdep-1.0-1.noarch', 'dom0-tool-3.0-1.noarch'].sort());
  });
});

describe('dom0-update and a new arch of an installed name (multilib)', () => {
  it('does not install an i686 build beside the installed x86_64 one as a dependency of an update, until it is named with its arch', async () => {
    const build = (name: string, version: string, arch: 'x86_64' | 'i686', more: { requires?: string[]; provides?: string[] } = {}, outDir?: string) =>
      buildPackage({ name, version, arch, ...more }, { key: 'trusted-rsa', ...(outDir === undefined ? {} : { outDir }) });
    const lib1 = await build('dom0-lib', '1.0', 'x86_64');
    const app1 = await build('dom0-app', '1.0', 'x86_64', { requires: ['dom0-lib'] });
    const s = await scenario({ install: () => [lib1.path, app1.path], serve: (f) => f.repos.v2 });
    // The stand-in agent tars files from one directory.
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
    const lib2 = await build('dom0-lib', '2.0', 'x86_64', {}, outDir);
    const lib2i686 = await build('dom0-lib', '2.0', 'i686', { provides: ['libdom0lib32'] }, outDir);
    const app2 = await build('dom0-app', '2.0', 'x86_64', { requires: ['libdom0lib32'] }, outDir);
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [lib2.path, lib2i686.path, app2.path].join(':') });
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
  it('upgrades it to the machine\'s arch and does not add an i686 build beside it as a dependency', async () => {
    const lib1 = await buildPackage({ name: 'dom0-lib', version: '1.0' }, { key: 'trusted-rsa' });
    const app1 = await buildPackage({ name: 'dom0-app', version: '1.0', arch: 'x86_64', requires: ['dom0-lib'] }, { key: 'trusted-rsa' });
    const s = await scenario({ install: () => [lib1.path, app1.path], serve: (f) => f.repos.v2 });
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
    const build = (arch: 'x86_64' | 'i686', more: { requires?: string[]; provides?: string[] } = {}) =>
      buildPackage({ name: 'dom0-lib', version: '2.0', arch, ...more }, { key: 'trusted-rsa', outDir });
    const lib2 = await build('x86_64');
    const lib2i686 = await build('i686', { provides: ['libdom0lib32'] });
    const app2 = await buildPackage({ name: 'dom0-app', version: '2.0', arch: 'x86_64', requires: ['libdom0lib32'] }, { key: 'trusted-rsa', outDir });
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [lib2.path, lib2i686.path, app2.path].join(':') });
    expect(r.stdout).toContain('Not offered to dnf (a new arch of an installed name, not requested: name it with its arch to install it): dom0-lib-0:2.0-1.i686 (installed: noarch)');
    expect(r.stderr).toContain('verified update dom0-app-2.0-1.x86_64 of the installed dom0-app.x86_64 1.0-1 was not installed');
    expect(r.exitCode).toBe(1);
    // the noarch package became the x86_64 build, and no i686 one came in beside it
    expect(await installedPackages(s.dom0)).toEqual(['dom0-app-1.0-1.x86_64', 'dom0-lib-2.0-1.x86_64']);
  });
});

describe('dom0-update and Obsoletes in an upgrade', () => {
  it('withholds the build of an installed name whose Obsoletes would remove another installed package, until it is named', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', obsoletes: ['dom0-hello'] }, { key: 'trusted-rsa', outDir });
    // the hostile agent sends files from one directory
    for (const p of s.fixtures.packages.v2) copyFileSync(p.path, join(outDir, p.fileName));
    const sent = [...s.fixtures.packages.v2.map((p) => join(outDir, p.fileName)), tool3.path];
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
  });
});

describe('dom0-update and a package renamed upstream', () => {
  it('withholds a new name whose Obsoletes replace an installed package, says so and how to accept it, and the advice works', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
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
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
    // matches no installed version of dom0-hello, only the update the user asks for
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', obsoletes: ['dom0-hello >= 2.0'] }, { key: 'trusted-rsa', outDir });
    const sent = s.fixtures.packages.v2.filter((p) => !p.fileName.startsWith('dom0-tool-'));
    for (const p of sent) copyFileSync(p.path, join(outDir, p.fileName));
    const r = await s.run(['-y', 'dom0-hello'], {
      DOM0_UPDATES_AGENT_COMMAND: hostile,
      HOSTILE_SEND: [...sent.map((p) => join(outDir, p.fileName)), tool3.path].join(':'),
    });
    expect(r.stdout).toContain('Not offered to dnf: dom0-tool-0:3.0-1.noarch, whose Obsoletes would replace the requested dom0-hello');
    expect(r.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(['dom0-hello-2.0-1.noarch', 'dom0-libgreet-2.0-1.noarch', 'dom0-tool-1.0-1.noarch']);
  });
});

describe('dom0-update and Obsoletes when dnf fails', () => {
  it('says which builds it withheld for their Obsoletes when what was asked for needs one', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', obsoletes: ['dom0-hello'] }, { key: 'trusted-rsa', outDir });
    const plugin = await buildPackage({ name: 'dom0-plugin', version: '1.0', requires: ['dom0-tool >= 3.0'] }, { key: 'trusted-rsa', outDir });
    const r = await s.run(['-y', 'dom0-plugin'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [tool3.path, plugin.path].join(':') });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('[INSTALL_FAILED]');
    expect(r.stderr).toContain('dom0 withheld dom0-tool-0:3.0-1.noarch for their Obsoletes: name the package to accept that');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });
});

describe('dom0-update when dnf leaves verified updates out', () => {
  it('says which verified updates of installed packages dnf did not install and exits 1, not "Nothing changed"', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', requires: ['dom0-newdep'] }, { key: 'trusted-ed25519', outDir });
    const newdep = await buildPackage({ name: 'dom0-newdep', version: '1.0' }, { key: 'trusted-rsa', outDir });
    // Without --best (the root's dnf.conf says best=False) dnf skips the update whose new dependency dom0 withheld.
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [tool3.path, newdep.path].join(':') });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('warning: verified update dom0-tool-3.0-1.noarch of the installed dom0-tool.noarch 1.0-1 was not installed');
    expect(r.stderr).toContain('[INSTALL_NOTHING_DONE]');
    // the cause the user can act on, first
    expect(r.stderr).toContain('arrived: the updates need a package dom0 withheld as neither installed nor requested (dom0-newdep: install it by name first, `dom0-update NAME`, then upgrade again)');
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
    const outDir = join(s.dir, 'batch');
    mkdirSync(outDir);
    // a validly signed dom0-tool 3.0 whose file lands where dom0 has a directory no package owns:
    // rpm's transaction test passes, unpacking it fails, and dnf exits 1 after the other upgrades
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', payloadBytes: 16 }, { key: 'trusted-ed25519', outDir });
    mkdirSync(join(s.dom0.root, 'usr/share/dom0-tool/payload.bin/occupied'), { recursive: true });
    // the hostile agent sends files of one directory
    const batch = [
      ...s.fixtures.packages.v2.filter((p) => p.name !== 'dom0-tool').map((p) => {
        copyFileSync(p.path, join(outDir, p.fileName));
        return join(outDir, p.fileName);
      }),
      tool3.path,
    ];
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
      message: expect.stringContaining('before it failed, dnf made 2 change(s) in dom0 (above): check them (rpm -q, dnf history)') as string,
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

describe('dom0-update exit codes through the bundle', () => {
  it('exits 0 from --check-only when nothing is newer', async () => {
    const s = await scenario({ install: (f) => f.packages.v2.map((p) => p.path), serve: (f) => f.repos.v2 });
    const r = await s.run(['--check-only']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('No updates available.');
  });

  it('fails with STATE_NO_RPMDB, creating no database, when RPMDB_PATH names no rpm database, in every mode', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const env = { DOM0_UPDATES_RPMDB_PATH: '/var/lib/rpm-mistyped' };
    for (const args of [['-y'], ['--downloadonly'], ['--check-only']]) {
      const r = await s.run(args, env);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr).toContain('STATE_NO_RPMDB');
      expect(r.stdout).not.toContain('No updates');
      // rpm creates an empty database where it finds none: no rpm query may have run
      expect(existsSync(join(s.dom0.root, 'var/lib/rpm-mistyped'))).toBe(false);
    }
    expect(readdirSync(s.updatesDir)).not.toContain('result.json');
  });

  it('passes --disablerepo and --enablerepo to the UpdateVM', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const none = await s.run(['--check-only', '--disablerepo=fixtures']);
    expect(none.exitCode).toBe(1);
    expect(none.stdout).toContain('no enabled repositories');
    // RELEASEVER from the config file reached the UpdateVM's dnf too (its failure output shows dnf's warnings).
    expect(none.stdout).not.toContain('Unable to detect release version');
    expect(none.stdout).not.toContain('No updates');
    expect((await s.run(['--check-only', '--disablerepo=fixtures', '--enablerepo=other'])).exitCode).toBe(100);
  });

  it("names the agent's own error in the final line, with --silent too, and a package no repository has in --check-only", async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    for (const args of [['-y', '--silent', 'no-such-package'], ['--check-only', '--silent', 'no-such-package']]) {
      const r = await s.run(args);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/the UpdateVM's agent exited with 1; it said: \[[^\]]+\] error: no package matches "no-such-package" in the enabled repositories/);
      expect(r.stderr).toContain('[PACKAGE_NOT_FOUND]');
      expect(r.stderr).not.toContain('No updates');
    }
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('exits 1 with LOCK_HELD while another run holds the lock, and leaves the lock alone', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    await s.run(['--check-only']);
    writeFileSync(s.lockFile, `${process.pid}\n`);
    const r = await s.run(['-y']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`another dom0-update is running (pid ${process.pid}`);
    expect(r.stderr).toContain('[LOCK_HELD]');
    expect(readFileSync(s.lockFile, 'utf8')).toBe(`${process.pid}\n`);
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('exits 2 on a usage error before doing anything', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const bad = await s.run(['--nogpgcheck']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('USAGE_UNKNOWN_OPTION');
    expect((await s.run(['--check-only', '--downloadonly'])).exitCode).toBe(2);
    expect((await s.run(['--max-files=lots'])).exitCode).toBe(2);
  });

  it('refuses a --setopt key the agent would refuse as a usage error, before looking at the lock', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    mkdirSync(join(s.dir, 'run'), { recursive: true });
    writeFileSync(s.lockFile, `${process.pid}\n`);
    const r = await s.run(['-y', '--setopt=gpgcheck=0']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--setopt: "gpgcheck" may not be set');
    expect(r.stderr).toContain('[USAGE_SETOPT_NOT_ALLOWED]');
    expect(r.stderr).not.toContain('LOCK_HELD');
    expect(r.stdout).toBe('');
  });

  it('exits 0 for --help and --version', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const help = await s.run(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Usage: dom0-update');
    const version = await s.run(['--version']);
    expect(version.exitCode).toBe(0);
    expect(version.stdout).toMatch(/^dom0-update \d+\.\d+\.\d+$/);
  });

  it('exits 1 for a bad configuration file', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2, extraConfig: 'MAX_FILES=lots' });
    const r = await s.run(['--check-only']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('MAX_FILES: "lots" is not a positive integer [CONFIG_BAD_NUMBER]');
  });

  it('says a batch over MAX_FILES crossed dom0\'s own limit and which setting raises it, installing nothing', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2, extraConfig: 'MAX_FILES=1' });
    const r = await s.run(['-y']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('[TAR_TOO_MANY_MEMBERS]');
    expect(r.stderr).toContain("the batch has more than 1 package, dom0's limit (the package named is only the first past it); raise MAX_FILES");
    expect(r.stderr).toContain('[REJECTED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('exits 125 when the agent cannot be started', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['--check-only'], { DOM0_UPDATES_AGENT_COMMAND: '["/nonexistent/updatevm-agent"]' });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('TRANSPORT_SPAWN');
  });

  it('passes on 125 (transport failure) from a local agent, and takes its 126 for its own failure, never as success', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    // a local agent sends on fd 3: no qrexec policy is asked, so a 126 is a shell's "cannot execute"
    for (const [code, exit, name] of [[125, 125, 'TRANSPORT_FAILED'], [126, 1, 'AGENT_FAILED']] as const) {
      // as the agent says it when dom0's service failed before replying
      const agent = JSON.stringify(['sh', '-c', `cat >/dev/null; echo 'updatevm-agent: error: dom0 sent no reply (transport exit 1) [NO_REPLY]' >&2; exit ${code}`]);
      for (const args of [['-y'], ['--check-only']]) {
        const r = await s.run(args, { DOM0_UPDATES_AGENT_COMMAND: agent });
        expect(r.exitCode, r.stderr).toBe(exit);
        expect(r.stderr).toContain(`[${name}]`);
        expect(r.stderr).toContain('it said: [local] error: dom0 sent no reply (transport exit 1) [NO_REPLY]');
        expect(r.stderr).not.toContain('POLICY_DENIED');
      }
    }
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('says what to do when the qrexec transport is set on a machine without qvm-run (not a Qubes dom0)', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    writeFileSync(s.configFile, readFileSync(s.configFile, 'utf8').replace('TRANSPORT=local\n', 'TRANSPORT=qrexec\nUPDATEVM=sys-test\n'));
    const r = await s.run(['--check-only']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('cannot start qvm-run: ENOENT (qvm-run is part of Qubes dom0: not a Qubes dom0? set TRANSPORT=local and AGENT_COMMAND) [TRANSPORT_SPAWN]');
  });

  it('passes on 125 and 126 (policy denied) through qrexec, never as success', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const bin = join(s.dir, 'qubes-bin');
    mkdirSync(bin);
    writeFileSync(s.configFile, readFileSync(s.configFile, 'utf8').replace('TRANSPORT=local\n', 'TRANSPORT=qrexec\nUPDATEVM=sys-test\n'));
    for (const [code, name] of [[125, 'TRANSPORT_FAILED'], [126, 'POLICY_DENIED']] as const) {
      // a stand-in for qvm-run whose service call ends as the agent would on that failure
      writeFileSync(join(bin, 'qvm-run'), `#!/bin/sh\ncat >/dev/null; exit ${code}\n`, { mode: 0o755 });
      for (const args of [['-y'], ['--check-only']]) {
        const r = await s.run(args, { PATH: `${bin}:${s.dom0.env['PATH'] ?? ''}` });
        expect(r.exitCode, r.stderr).toBe(code);
        expect(r.stderr).toContain(`[${name}]`);
      }
    }
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('does not call a publication without a result record "No updates" when the agent, through qrexec, exits 0', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const bin = join(s.dir, 'qubes-bin');
    mkdirSync(bin);
    writeFileSync(s.configFile, readFileSync(s.configFile, 'utf8').replace('TRANSPORT=local\n', 'TRANSPORT=qrexec\nUPDATEVM=sys-test\n'));
    // a stand-in for the UpdateVM whose batch dom0's receiver published but could not record
    // (a full disk): the repo link moves, result.json does not, and the agent's exit is 0
    const gen = join(s.updatesDir, 'generations', '000000000099-deadbeef');
    writeFileSync(
      join(bin, 'qvm-run'),
      `#!/bin/sh\ncat >/dev/null\nmkdir -p '${gen}' && ln -s generations/000000000099-deadbeef '${s.updatesDir}/repo.new' && mv -T '${s.updatesDir}/repo.new' '${s.updatesDir}/repo'\nexit 0\n`,
      { mode: 0o755 },
    );
    const r = await s.run(['-y'], { PATH: `${bin}:${s.dom0.env['PATH'] ?? ''}` });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain('[RECEIVER_FAILED]');
    expect(r.stderr).toContain("dom0's receiver published a new generation (000000000099-deadbeef) without recording a result");
    expect(r.stdout).not.toContain('No updates');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('reports the receiver\'s rejection even when the agent then hangs past TIMEOUT', async () => {
    const f = await buildFixtures();
    const s = await scenario({ ...oldRoot, serve: (x) => x.repos.v2 });
    // The agent feeds the receiver an unsigned package, then never exits.
    const agent = JSON.stringify(['node', join(import.meta.dirname, 'hostile-agent.mjs')]);
    const r = await s.run(['-y'], {
      DOM0_UPDATES_AGENT_COMMAND: agent,
      HOSTILE_SEND: f.unsigned.map((p) => p.path).join(':'),
      HOSTILE_HANG: '1',
      DOM0_UPDATES_TIMEOUT: '5',
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('RPM_UNSIGNED');
    expect(r.stderr).toContain('[REJECTED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('exits 1 with AGENT_TIMEOUT when the UpdateVM never finishes, even if its children keep the pipes open', async () => {
    const s = await scenario({ ...oldRoot, serve: (x) => x.repos.v2 });
    // it answers dom0-update's SIGTERM with a line, as the real agent does
    const agent = JSON.stringify(['sh', '-c', 'trap "echo stopped by SIGTERM; exit 1" TERM; cat >/dev/null; echo working; sleep 30 & wait']);
    const r = await s.run(['--check-only'], { DOM0_UPDATES_AGENT_COMMAND: agent, DOM0_UPDATES_TIMEOUT: '2' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('did not finish within 7 s');
    // what it was at when the deadline came: its last line before dom0-update's signal, sanitised
    expect(r.stdout + r.stderr).toContain('stopped by SIGTERM');
    expect(r.stderr).toContain('; its last line shown: "working" [AGENT_TIMEOUT]');
    expect(r.stdout).not.toContain('No updates');
  });

  it('exits 1 with AGENT_OUTPUT_FLOOD, installing nothing, when the UpdateVM prints endlessly', async () => {
    const s = await scenario({ ...oldRoot, serve: (x) => x.repos.v2 });
    const agent = JSON.stringify(['sh', '-c', 'cat >/dev/null; yes "updatevm-agent: downloading"']);
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: agent });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('printed more than 32 MiB and was stopped; nothing was installed [AGENT_OUTPUT_FLOOD]');
    expect(r.stdout.split('\n').filter((line) => line.includes('updatevm-agent: downloading'))).toHaveLength(5000);
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('starts no receiver when the agent sends no byte, and says "No updates" without a record', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; exit 0']) });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('No updates: the UpdateVM sent no packages.');
    expect(existsSync(join(s.updatesDir, 'result.json'))).toBe(false);
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('fails with NOTHING_RECEIVED, never "No updates", when packages were named, none arrived and nothing was ever cached', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const silent = { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; exit 0']) };
    const r = await s.run(['-y', 'dom0-hello', 'dom0-extra'], silent);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no packages were received for: dom0-hello dom0-extra [NOTHING_RECEIVED]');
    expect(r.stdout).not.toContain('No updates');
    expect(await installedPackages(s.dom0)).toEqual(V1);
    // an install of what is installed needs nothing: as dnf says with a cached repository
    const installedOnly = await s.run(['-y', 'dom0-hello', 'dom0-tool.noarch'], silent);
    expect(installedOnly.exitCode).toBe(0);
    expect(installedOnly.stdout).toContain('Nothing to do: dom0-hello dom0-tool.noarch installed, and the UpdateVM sent no newer build.');
    const reinstall = await s.run(['-y', '--action=reinstall', 'dom0-hello'], silent);
    expect(reinstall.exitCode).toBe(1);
    expect(reinstall.stderr).toContain('[NOTHING_RECEIVED]');
  });

  it('reports a stream cut short by an agent that exits as dom0\'s own rejection', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_RAW: '00'.repeat(100) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/TAR_(TRUNCATED|MISSING_END)/);
    expect(r.stderr).toContain('[REJECTED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('records an empty archive as an empty published batch, and says the UpdateVM sent one', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_RAW: '00'.repeat(1024) });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Received an empty batch: no packages.');
    expect(r.stdout).toContain("No updates: the UpdateVM sent an empty batch, and dom0's cached repository holds nothing newer than what is installed.");
    expect(JSON.parse(readFileSync(join(s.updatesDir, 'result.json'), 'utf8'))).toMatchObject({ status: 'published', accepted: [] });
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('warns that only the last batch is shown when the UpdateVM delivered another one during the run', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const receiver = ['node', BUNDLES.receiver, 'receive', '--updates-dir', s.updatesDir, ...s.fixtures.trustedKeyPaths.flatMap((k) => ['--keyring', k])];
    const r = await s.run(['-y', '--json-progress'], {
      DOM0_UPDATES_AGENT_COMMAND: hostile,
      // first a stream cut short (rejected), then the packages through the run's own receiver
      HOSTILE_EARLIER_RECEIVE: JSON.stringify(receiver),
      HOSTILE_EARLIER_RAW: '00'.repeat(100),
      HOSTILE_SEND: s.fixtures.packages.v2.map((p) => p.path).join(':'),
    });
    expect(r.exitCode).toBe(0);
    const warnings = jsonLines(r.stdout).filter((line) => line['type'] === 'message' && line['level'] === 'warning');
    expect(warnings).toContainEqual(
      expect.objectContaining({ text: expect.stringMatching(/more than one batch during this run \(this run started with no record; the last batch, record 2, replaced record 1\): only the last is shown/) }),
    );
    expect(await installedPackages(s.dom0)).toEqual(V2);
  });

  it('fails with RECEIVER_SPAWN when dom0\'s receiver cannot be started', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y'], {
      DOM0_UPDATES_AGENT_COMMAND: hostile,
      DOM0_UPDATES_RECEIVER_COMMAND: '["/nonexistent/dom0-receiver"]',
      HOSTILE_SEND: s.fixtures.packages.v2.map((p) => p.path).join(':'),
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('[RECEIVER_SPAWN]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('fails with RECEIVER_FAILED when the receiver ends without a record, whatever the agent says', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y'], {
      DOM0_UPDATES_AGENT_COMMAND: hostile,
      DOM0_UPDATES_RECEIVER_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; echo "receiver says no" >&2; exit 3']),
      HOSTILE_SEND: s.fixtures.packages.v2.map((p) => p.path).join(':'),
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('[dom0-receiver] receiver says no');
    expect(r.stderr).toContain("dom0's receiver exited with 3 without recording a result");
    expect(r.stderr).toContain('[RECEIVER_FAILED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('fails with RECEIVER_FAILED when the receiver exits 0 without a record, and the agent too', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y'], {
      DOM0_UPDATES_AGENT_COMMAND: hostile,
      DOM0_UPDATES_RECEIVER_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; exit 0']),
      HOSTILE_SEND: s.fixtures.packages.v2.map((p) => p.path).join(':'),
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("dom0's receiver exited with 0 without recording a result; nothing was installed [RECEIVER_FAILED]");
    expect(r.stdout).not.toContain('No updates');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('names the reason the receiver gave in the RECEIVER_FAILED line, in --silent mode too', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const said = 'dom0-receiver: rejected the batch: RECEIVER_BUSY: another receiver holds the lock';
    const r = await s.run(['-y', '--silent'], {
      DOM0_UPDATES_AGENT_COMMAND: hostile,
      DOM0_UPDATES_RECEIVER_COMMAND: JSON.stringify(['sh', '-c', `cat >/dev/null; echo "${said}" >&2; exit 1`]),
      HOSTILE_SEND: s.fixtures.packages.v2.map((p) => p.path).join(':'),
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("dom0's receiver exited with 1 without recording a result (rejected the batch: RECEIVER_BUSY: another receiver holds the lock); nothing was installed");
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('kills the agent\'s and the receiver\'s process groups at the deadline', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const pidFile = join(s.dir, 'receiver.pid');
    const r = await s.run(['-y'], {
      DOM0_UPDATES_AGENT_COMMAND: hostile,
      // A receiver that never answers, and a child of it that would outlive it if only it were killed.
      DOM0_UPDATES_RECEIVER_COMMAND: JSON.stringify(['sh', '-c', `sleep 120 & echo $! > ${pidFile}; cat >/dev/null; wait`]),
      DOM0_UPDATES_TIMEOUT: '2',
      HOSTILE_SEND: s.fixtures.packages.v2.map((p) => p.path).join(':'),
      HOSTILE_HANG: '1',
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('[AGENT_TIMEOUT]');
    expect(await settledState(Number(readFileSync(pidFile, 'utf8')))).toMatch(/^(gone|Z)$/);
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('ends after its verdict when a process the agent left holds the reply pipe, and stops the ones in its group', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const inGroup = join(s.dir, 'in-group.pid');
    const outside = join(s.dir, 'outside.pid');
    // both keep only fd 4 (dom0's reply) open; the second leaves the agent's process group
    const agent = JSON.stringify([
      'sh',
      '-c',
      `cat >/dev/null; sleep 300 3>&- </dev/null >/dev/null 2>&1 & echo $! > ${inGroup}; setsid sleep 300 3>&- </dev/null >/dev/null 2>&1 & echo $! > ${outside}; exit 0`,
    ]);
    try {
      const r = await Promise.race([
        s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: agent }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('dom0-update did not exit')), 20_000)),
      ]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('No updates: the UpdateVM sent no packages.');
      expect(await settledState(Number(readFileSync(inGroup, 'utf8')))).toMatch(/^(gone|Z)$/);
    } finally {
      for (const file of [inGroup, outside]) killPidFile(file);
    }
  });

  it('says what dom0 verified and cached when the agent fails after sending a good batch, and installs nothing', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: s.fixtures.packages.v2.map((p) => p.path).join(':'), HOSTILE_EXIT: '100' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('dom0 received and verified 3 package(s) before this failure; they stay in the cached repository and were not installed');
    expect(r.stderr).toContain('[AGENT_FAILED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('sanitises escape sequences printed by the agent', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const agent = JSON.stringify(['sh', '-c', `cat >/dev/null; printf 'evil \\033]0;title\\007 \\033[2J\\n'; exit 1`]);
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: agent });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('[local] evil \\x1b]0;title\\x07 \\x1b[2J');
    expect(r.stdout + r.stderr).not.toContain('\u001b');
  });
});
