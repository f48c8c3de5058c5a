// dom0-update end to end: the local transport, the real agent, receiver and dnf, a loopback mirror.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFixtures, buildPackage, installedPackages } from '@dom0-updates/fixtures';
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_PREFIX } from '../src/repo-snapshot.ts';
import { jsonLines, makeRepo } from './harness.ts';
import { agentCacheMarker, batchDir, hostile, oldRoot, scenariosClosedAfterEach, V1, V2 } from './support/e2e-scenarios.ts';

const scenario = scenariosClosedAfterEach();

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

  it('gives no advice about withheld packages when dnf could not ask, which they would not explain', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    // dom0-extra arrives unrequested and is withheld; the upgrade itself resolves and reaches the prompt
    const r = await s.run([], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [...s.fixtures.packages.v2, ...s.fixtures.packages.extra].map((p) => p.path).join(':') });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('(with no terminal to ask on, dnf takes no answer as a no: add -y to answer yes)');
    expect(r.stderr).toContain("The verified packages stay in dom0's cached repository [INSTALL_FAILED]");
    expect(r.stderr).not.toContain('dom0 withheld');
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

  it('a --check-only the UpdateVM answers with "none" still counts the verified updates dom0 holds from an earlier run (exit 100), as an install would offer them', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    expect((await s.run(['--downloadonly'])).exitCode).toBe(0);
    const silent = { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; exit 0']) };
    const check = await s.run(['--check-only'], silent);
    expect(check.exitCode).toBe(100);
    expect(check.stdout).toContain("Updates are available: the UpdateVM reports none, but dom0's cached repository holds 3 verified update(s) from earlier runs that are not installed (");
    for (const nevra of V2) expect(check.stdout).toContain(nevra);
    // what the command line leaves out is not counted, as an install would not offer it
    const excluded = await s.run(['--check-only', '--exclude=dom0-tool'], silent);
    expect([excluded.exitCode, excluded.stdout]).toEqual([100, expect.stringContaining('holds 2 verified update(s)') as string]);
    const named = await s.run(['--check-only', 'dom0-tool'], silent);
    expect([named.exitCode, named.stdout]).toEqual([100, expect.stringContaining('holds 1 verified update(s) from earlier runs that are not installed (dom0-tool-2.0-1.noarch)') as string]);
    const json = jsonLines((await s.run(['--check-only', '--json-progress'], silent)).stdout);
    expect(json.at(-1)).toEqual({ type: 'done', status: 'updates_available', exitCode: 100, percent: 100 });
    // a build whose signer KEYRING no longer pins is not counted, and is said
    const rsaOnly = s.fixtures.trustedKeyPaths.find((p) => p.includes('trusted-rsa'));
    if (rsaOnly === undefined) throw new Error('no trusted-rsa key file');
    const rotated = await s.run(['--check-only', `--keyring=${rsaOnly}`], silent);
    expect([rotated.exitCode, rotated.stdout]).toEqual([100, expect.stringContaining('holds 2 verified update(s)') as string]);
    expect(rotated.stdout).not.toContain('dom0-tool-2.0-1');
    expect(rotated.stderr).toContain('not offered to dnf: 1 cached build(s) signed by a key KEYRING no longer pins (dom0-tool-0:2.0-1.noarch');
    // keys or a repository that cannot be read: never "no updates", the check failed
    const noKeys = await s.run(['--check-only'], { ...silent, DOM0_UPDATES_KEYRING: join(s.dir, 'no-such-key.asc') });
    expect(noKeys.exitCode).toBe(1);
    expect(noKeys.stderr).toContain("it is NOT known whether updates are available: the UpdateVM reports none, but dom0's cached repository, which may hold updates from earlier runs, could not be read:");
    expect(noKeys.stderr).toContain('[CONFIG_KEYRING_UNREADABLE]');
    expect(noKeys.stdout).not.toContain('No updates');
    const bin = join(s.dir, 'failing-rpm');
    mkdirSync(bin);
    writeFileSync(join(bin, 'rpm'), '#!/bin/sh\ncase " $* " in *" -qp "*) echo "error: open of ./x failed" >&2; exit 1;; esac\nexec /usr/bin/rpm "$@"\n', { mode: 0o755 });
    const unreadable = await s.run(['--check-only'], { ...silent, PATH: `${bin}:${s.dom0.env['PATH'] ?? ''}` });
    expect(unreadable.exitCode).toBe(1);
    expect(unreadable.stderr).toContain('could not be read: cannot read the cached repository\'s package names: error: open of ./x failed [CACHED_REPO_QUERY]');
    expect(unreadable.stdout).not.toContain('No updates');
    // once installed, nothing newer is cached
    expect((await s.run(['-y'], silent)).exitCode).toBe(0);
    const after = await s.run(['--check-only'], silent);
    expect(after.exitCode).toBe(0);
    expect(after.stdout).toContain("No updates available, as the UpdateVM reports, and dom0's cached repository holds nothing newer than what is installed.");
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
    expect(r.stderr).toMatch(/rejected dom0-[a-z]+-2\.0-1\.noarch\.rpm: .+ \[RPM_UNSIGNED\]/);
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
    const outDir = batchDir(s);
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
    const outDir = batchDir(s);
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
    const outDir = batchDir(s);
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
    expect(r.stdout).toContain("Verified package dom0-hello-2.0-1.noarch was not installed: dom0's dnf leaves it out, as the command line excludes it.");
  });

  it.each([
    // disable_excludes would turn off the cached repository's withholding too: dom0's dnf clears it
    { setting: 'excludepkgs', lines: 'excludepkgs=dom0-t*\ndisable_excludes=all\n', reason: 'excludes it' },
    { setting: 'includepkgs', lines: 'includepkgs=dom0-hello,dom0-libgreet*\n', reason: 'does not name it' },
  ])("leaves out what dom0's own dnf.conf $setting leaves out, as dom0's dnf does: not counted by a check, not called a missed update", async ({ setting, lines, reason }) => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    expect((await s.run(['--downloadonly'])).exitCode).toBe(0);
    const dnfConf = join(s.dom0.root, 'etc/dnf/dnf.conf');
    appendFileSync(dnfConf, lines);
    const silent = { DOM0_UPDATES_AGENT_COMMAND: JSON.stringify(['sh', '-c', 'cat >/dev/null; exit 0']) };
    const check = await s.run(['--check-only'], silent);
    expect([check.exitCode, check.stdout]).toEqual([100, expect.stringContaining('holds 2 verified update(s)') as string]);
    expect(check.stdout).not.toContain('dom0-tool-2.0-1');
    // the UpdateVM resends the whole batch, the left-out package included
    const all = s.fixtures.packages.v2.map((p) => p.path);
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: all.join(':') });
    expect(r.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual([V2[0], V2[1], V1[2]]);
    expect(r.stdout).toContain(`Verified package dom0-tool-2.0-1.noarch was not installed: dom0's dnf leaves it out, as ${setting} in ${dnfConf} ${reason}.`);
    const after = await s.run(['--check-only'], silent);
    expect([after.exitCode, after.stdout]).toEqual([0, expect.stringContaining("dom0's cached repository holds nothing newer than what is installed.") as string]);
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

  it("shows dnf's words about a signed package's text escaped: a C1 CSI or a bidi override in a Requires never reaches the terminal raw", async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = batchDir(s);
    const tool3 = await buildPackage({ name: 'dom0-tool', version: '3.0', requires: ['dom0-\u009b31m\u202eevil'] }, { key: 'trusted-rsa', outDir });
    const r = await s.run(['-y', '--best'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: tool3.path });
    expect(r.exitCode).toBe(1);
    // dnf names the requirement it cannot meet; dom0-update shows it, escaped
    expect(r.stdout + r.stderr).toContain('dom0-\\x9b31m\\u202eevil');
    expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u);
    expect(await installedPackages(s.dom0)).toEqual(V1);
  });

  it('does not pull in a new dependency nobody named: the upgrade needing it stays out, and naming it lets it in', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const outDir = batchDir(s);
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
