// dom0-update end to end: its exit codes and final lines, through the bundle.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFixtures, installedPackages, signedVariant } from '@dom0-updates/fixtures';
import { describe, expect, it } from 'vitest';
import { jsonLines, type Scenario } from './harness.ts';
import { BUNDLES } from './support/build-bundles.ts';
import { killPidFile, settledState } from './support/process-state.ts';
import { hostile, oldRoot, scenariosClosedAfterEach, V1, V2 } from './support/e2e-scenarios.ts';

const scenario = scenariosClosedAfterEach();

/** The scenario's config switched to the qrexec transport, with sys-test as its UpdateVM. */
function useQrexec(s: Scenario): void {
  writeFileSync(s.configFile, readFileSync(s.configFile, 'utf8').replace('TRANSPORT=local\n', 'TRANSPORT=qrexec\nUPDATEVM=sys-test\n'));
}

/** useQrexec, and a directory for a stand-in `qvm-run` (put it first in PATH). */
function qvmRunDir(s: Scenario): string {
  useQrexec(s);
  const bin = join(s.dir, 'qubes-bin');
  mkdirSync(bin);
  return bin;
}

describe('dom0-update exit codes through the bundle', () => {
  it('exits 0 from --check-only when nothing is newer', async () => {
    const s = await scenario({ install: (f) => f.packages.v2.map((p) => p.path), serve: (f) => f.repos.v2 });
    const r = await s.run(['--check-only']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("No updates available, as the UpdateVM reports, and dom0's cached repository holds nothing newer than what is installed.");
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
    useQrexec(s);
    const r = await s.run(['--check-only']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('cannot start qvm-run: ENOENT (qvm-run is part of Qubes dom0: not a Qubes dom0? set TRANSPORT=local and AGENT_COMMAND) [TRANSPORT_SPAWN]');
  });

  it('passes on 125 and 126 (policy denied) through qrexec, never as success', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const bin = qvmRunDir(s);
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

  it('names a service the UpdateVM does not have (qrexec exit 127) as the likely cause of AGENT_FAILED', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const bin = qvmRunDir(s);
    // qrexec's answer when the qube has no such service: no agent ran
    writeFileSync(join(bin, 'qvm-run'), '#!/bin/sh\ncat >/dev/null; exit 127\n', { mode: 0o755 });
    const r = await s.run(['--check-only'], { PATH: `${bin}:${s.dom0.env['PATH'] ?? ''}` });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain("the UpdateVM's agent exited with 127");
    expect(r.stderr).toContain('127 is what qrexec returns when the UpdateVM has no dom0-updates.Download service: install it in its template');
    expect(r.stderr).toContain('[AGENT_FAILED]');
  });

  it('does not call a publication without a result record "No updates" when the agent, through qrexec, exits 0', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const bin = qvmRunDir(s);
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

  it('says that --clean ends the rejection of a cached build the mirror re-signed without a new release, and --clean installs it', async () => {
    const s = await scenario({ ...oldRoot, serve: (x) => x.repos.v2 });
    expect((await s.run(['--downloadonly'])).exitCode).toBe(0);
    // the same dom0-hello 2.0-1, re-signed with the other pinned key: other bytes under a cached name
    const [hello, ...rest] = s.fixtures.packages.v2;
    const resigned = await signedVariant(hello!, { key: hello!.signer === 'trusted-rsa' ? 'trusted-ed25519' : 'trusted-rsa' });
    const env = { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_SEND: [resigned, ...rest.map((p) => p.path)].join(':') };
    const blocked = await s.run(['-y'], env);
    expect(blocked.exitCode).toBe(1);
    expect(blocked.stderr).toContain('RPM_CONFLICTS_PUBLISHED');
    expect(blocked.stderr).toContain('every batch that holds it is refused until `dom0-update --clean` empties the cache, then run again [REJECTED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
    const cleaned = await s.run(['-y', '--clean'], env);
    expect(cleaned.exitCode).toBe(0);
    expect(await installedPackages(s.dom0)).toEqual(V2);
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
    expect(r.stderr).toContain('; its last line shown: "working"; the deadline covers reading the repositories too');
    // a check that did not finish answered nothing
    expect(r.stderr).toContain('the check for updates failed: it is NOT known whether updates are available: the UpdateVM did not finish');
    // what the user can change: the deadline, named as configuration key and flag
    expect(r.stderr).toContain("on a slow link raise TIMEOUT in dom0's configuration (or --timeout=) [AGENT_TIMEOUT]");
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

  it('reports a stream cut short by an agent that exits as dom0\'s own rejection, and says so when the agent was killed while it sent', async () => {
    const s = await scenario({ ...oldRoot, serve: (f) => f.repos.v2 });
    const r = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: hostile, HOSTILE_RAW: '00'.repeat(100) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/TAR_(TRUNCATED|MISSING_END)/);
    expect(r.stderr).toContain('[REJECTED]');
    expect(await installedPackages(s.dom0)).toEqual(V1);
    // an agent killed while it sends: the stopped stream is said to be the agent's failure
    const killed = JSON.stringify(['node', '-e', "require('fs').writeSync(3, Buffer.alloc(100)); process.kill(process.pid, 'SIGKILL')"]);
    const cut = await s.run(['-y'], { DOM0_UPDATES_AGENT_COMMAND: killed });
    expect(cut.exitCode).toBe(1);
    expect(cut.stderr).toMatch(/TAR_(TRUNCATED|MISSING_END)\) and installed nothing: the stream stopped there because the UpdateVM's agent failed before it had sent everything \(the agent ended abnormally \(SIGKILL\) \[TRANSPORT_FAILED\]\) \[REJECTED\]/);
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
    const agentPidFile = join(s.dir, 'agent.pid');
    // An agent and a receiver that never finish, each with a child that would outlive it if only it
    // were killed; the agent's first byte on fd 3 (the local transport's stream) starts the receiver.
    const hanging = (file: string, first = ''): string => JSON.stringify(['sh', '-c', `sleep 120 & echo $! > ${file}; cat >/dev/null; ${first}wait`]);
    const r = await s.run(['-y'], {
      DOM0_UPDATES_AGENT_COMMAND: hanging(agentPidFile, 'printf x >&3; '),
      DOM0_UPDATES_RECEIVER_COMMAND: hanging(pidFile),
      DOM0_UPDATES_TIMEOUT: '2',
    });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain('[AGENT_TIMEOUT]');
    expect(await settledState(Number(readFileSync(agentPidFile, 'utf8')))).toMatch(/^(gone|Z)$/);
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
