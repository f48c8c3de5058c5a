import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cachedRepoDefinition } from '../src/cached-repo.ts';
import { parseConfigText, resolveConfig } from '../src/config.ts';
import { AGENT_SERVICE } from '../src/transport.ts';

const DEPLOY = join(import.meta.dirname, '..', '..', '..', 'deploy', 'qubes');
const UPDATEVM_DEPLOY = join(import.meta.dirname, '..', '..', '..', 'deploy', 'updatevm');
const DOWNLOAD_SERVICE = join(UPDATEVM_DEPLOY, 'dom0-updates.Download');

/** A directory with a stand-in `node` that prints the arguments it was given, one per line. */
function fakeNodeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-service-'));
  writeFileSync(join(dir, 'node'), '#!/bin/sh\nprintf "%s\\n" "$@"\n');
  chmodSync(join(dir, 'node'), 0o755);
  return dir;
}
const read = (name: string): string => readFileSync(join(DEPLOY, name), 'utf8');

describe('deploy/qubes', () => {
  const config = resolveConfig([{ origin: 'file', settings: parseConfigText(read('config'), 'config') }]);

  it('ships a sample config that dom0-update accepts', () => {
    expect(config.transport).toBe('qrexec');
    expect(config.updateVm).toBe('sys-firewall');
    expect(config.keyring.length).toBeGreaterThan(0);
    expect(config.agentCommand).toEqual(['node', '/usr/lib/dom0-updates/updatevm-agent.mjs']);
    // No pinned byte limit: the receiver's own "4 GiB or 90% of free space" default applies.
    expect(config.maxBytes).toBeUndefined();
  });

  it('ships the same cached repo definition dom0-update writes for the sample config', () => {
    // localpkg_gpgcheck is a [main] option (dnf warns about it in a repo file): dom0-update sets it
    // on dnf's command line, and neither file carries it
    expect(read('dom0-updates-cached.repo')).toBe(cachedRepoDefinition(config.updatesDir, config.keyring));
  });

  it('allows qubes.ReceiveUpdates from the configured UpdateVM alone, then denies everyone', () => {
    const rules = read('30-dom0-updates.policy')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.trim().split(/\s+/));
    expect(rules).toEqual([
      ['qubes.ReceiveUpdates', '+v1', config.updateVm, 'dom0', 'allow'],
      // @adminvm, not @anyvm: as a target @anyvm leaves dom0 out, so that line would deny nothing
      ['qubes.ReceiveUpdates', '*', '@anyvm', '@adminvm', 'deny'],
      ['dom0-updates.Download', '*', '@anyvm', '@anyvm', 'deny'],
    ]);
  });

  it('ships an executable service script that passes --updatevm and every key to the receiver', () => {
    const script = read('qubes.ReceiveUpdates');
    expect(statSync(join(DEPLOY, 'qubes.ReceiveUpdates')).mode & 0o111).not.toBe(0);
    expect(script).toContain('--updatevm "$UPDATEVM"');
    expect(script).toContain('--keyring "$key"');
    expect(script).toMatch(/exec node \/usr\/lib\/dom0-updates\/dom0-receiver\.mjs "\$@"/);
  });

  it('runs the receiver with the configured dir, UpdateVM, limits and keys, one argument each', async () => {
    const dir = fakeNodeDir();
    const conf = join(dir, 'config');
    writeFileSync(conf, 'UPDATEVM=sys-net\nUPDATES_DIR=/u\nKEYRING=/k/one\nKEYRING = "/k/two words"\nMAX_FILES=9\nMAX_BYTES=77\n');
    const r = await execa(join(DEPLOY, 'qubes.ReceiveUpdates'), [], {
      env: { PATH: `${dir}:/usr/bin:/bin`, DOM0_UPDATES_CONFIG: conf },
      extendEnv: false,
    });
    expect(r.stdout.split('\n')).toEqual([
      '/usr/lib/dom0-updates/dom0-receiver.mjs', 'receive', '--sandbox', 'bwrap', '--updates-dir', '/u',
      '--max-files', '9', '--timeout', '3600', '--updatevm', 'sys-net', '--max-bytes', '77',
      '--keyring', '/k/one', '--keyring', '/k/two words',
    ]);
  });

  it('asks Qubes for the UpdateVM when the config names none, and passes no --updatevm when Qubes has none either', async () => {
    const conf = (dir: string): string => {
      writeFileSync(join(dir, 'config'), 'KEYRING=/k/one\n');
      return join(dir, 'config');
    };
    const withPrefs = (script: string): string => {
      const dir = fakeNodeDir();
      writeFileSync(join(dir, 'qubes-prefs'), `#!/bin/sh\n${script}\n`);
      chmodSync(join(dir, 'qubes-prefs'), 0o755);
      return dir;
    };
    const run = (dir: string) => execa(join(DEPLOY, 'qubes.ReceiveUpdates'), [], { env: { PATH: `${dir}:/usr/bin:/bin`, DOM0_UPDATES_CONFIG: conf(dir) }, extendEnv: false, reject: false });
    const named = await run(withPrefs('echo sys-whonix'));
    expect(named.stdout.split('\n')).toEqual(expect.arrayContaining(['--updatevm', 'sys-whonix']));
    // the receiver then answers the caller with UPDATEVM_NOT_CONFIGURED (an empty --updatevm was a usage error, with no reply)
    const none = await run(withPrefs('true'));
    expect(none.exitCode).toBe(0);
    expect(none.stdout.split('\n')).not.toContain('--updatevm');
    const failing = await run(withPrefs('exit 3'));
    expect(failing.exitCode).toBe(1);
    expect(failing.stdout).toBe('');
    expect(failing.stderr).toContain('UPDATEVM is not set and qubes-prefs updatevm failed; refusing to receive');
  });

  it('leaves the byte limit to the receiver when MAX_BYTES is not set, as in the sample config', async () => {
    const dir = fakeNodeDir();
    const r = await execa(join(DEPLOY, 'qubes.ReceiveUpdates'), [], {
      env: { PATH: `${dir}:/usr/bin:/bin`, DOM0_UPDATES_CONFIG: join(DEPLOY, 'config') },
      extendEnv: false,
    });
    const args = r.stdout.split('\n');
    expect(args).toContain('--max-files');
    expect(args).not.toContain('--max-bytes');
  });

  it('refuses the values dom0-update refuses, where it used to pass them on or fall back to a default', async () => {
    const dir = fakeNodeDir();
    const conf = join(dir, 'config');
    const base = 'UPDATEVM=sys-net\nKEYRING=/k/one\n';
    for (const [text, why] of [
      ['UPDATES_DIR=var/updates\n', 'UPDATES_DIR: "var/updates" is not an absolute path'],
      ['UPDATES_DIR=\n', 'UPDATES_DIR: "" is not an absolute path'],
      ['UPDATES_DIR=/u\tv\x1b[31m\n', 'UPDATES_DIR: "/u?v?[31m" holds a control character'],
      ['UPDATES_DIR=u\x1b[31m\n', 'UPDATES_DIR: "u?[31m" is not an absolute path'],
      ['MAX_FILES=\n', 'MAX_FILES: "" is not a positive integer'],
      ['MAX_FILES=09\n', 'MAX_FILES: "09" is not a positive integer'],
      ['MAX_FILES=4097\n', "MAX_FILES: 4097 is more than 4096, the most packages the receiver's reply can name"],
      ['TIMEOUT=1h\n', 'TIMEOUT: "1h" is not a positive integer'],
      ['MAX_BYTES=12345678901234567\n', 'MAX_BYTES: "12345678901234567" is not a positive integer'],
      ['KEYRING=keys/two.asc\n', 'KEYRING: "keys/two.asc" is not an absolute path'],
    ] as const) {
      writeFileSync(conf, `${base}${text}`);
      const r = await execa(join(DEPLOY, 'qubes.ReceiveUpdates'), [], {
        env: { PATH: `${dir}:/usr/bin:/bin`, DOM0_UPDATES_CONFIG: conf },
        extendEnv: false,
        reject: false,
      });
      expect(r.exitCode, text).toBe(1);
      expect(r.stdout, text).toBe('');
      expect(r.stderr, text).toContain(`${conf}: ${why}; refusing to receive`);
      // dom0-update refuses the same file
      expect(() => resolveConfig([{ origin: 'file', settings: parseConfigText(`${base}${text}`, 'config') }]), text).toThrow();
    }
  });

  it('leaves the byte limit to the receiver when MAX_BYTES is set empty, as dom0-update does', async () => {
    const dir = fakeNodeDir();
    const conf = join(dir, 'config');
    writeFileSync(conf, 'UPDATEVM=sys-net\nKEYRING=/k/one\nMAX_BYTES=\n');
    const r = await execa(join(DEPLOY, 'qubes.ReceiveUpdates'), [], {
      env: { PATH: `${dir}:/usr/bin:/bin`, DOM0_UPDATES_CONFIG: conf },
      extendEnv: false,
    });
    expect(r.stdout.split('\n')).not.toContain('--max-bytes');
    expect(resolveConfig([{ origin: 'file', settings: parseConfigText('KEYRING=/k/one\nMAX_BYTES=\n', 'config') }]).maxBytes).toBeUndefined();
  });

  it('refuses to run the receiver without a KEYRING', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-service-'));
    const conf = join(dir, 'config');
    writeFileSync(conf, 'UPDATEVM=sys-net\n');
    const r = await execa(join(DEPLOY, 'qubes.ReceiveUpdates'), [], {
      env: { PATH: '/usr/bin:/bin', DOM0_UPDATES_CONFIG: conf },
      extendEnv: false,
      reject: false,
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('no KEYRING');
  });

  it('ships an UpdateVM service that runs the agent with a fixed command line for dom0 alone', async () => {
    expect(statSync(DOWNLOAD_SERVICE).mode & 0o111).not.toBe(0);
    const dir = fakeNodeDir();
    const run = (env: Record<string, string>) =>
      execa(DOWNLOAD_SERVICE, [], { env: { PATH: `${dir}:/usr/bin:/bin`, ...env }, extendEnv: false, reject: false, input: 'state' });
    const ok = await run({ QREXEC_REMOTE_DOMAIN: 'dom0', QREXEC_SERVICE_ARGUMENT: 'v1' });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout.split('\n')).toEqual(['/usr/lib/dom0-updates/updatevm-agent.mjs', 'run', '--transport', 'qrexec']);
    const fromQube = await run({ QREXEC_REMOTE_DOMAIN: 'work', QREXEC_SERVICE_ARGUMENT: 'v1' });
    expect(fromQube.exitCode).toBe(1);
    expect(fromQube.stderr).toContain('only dom0 may call this service');
    const wrongVersion = await run({ QREXEC_REMOTE_DOMAIN: 'dom0', QREXEC_SERVICE_ARGUMENT: 'v2' });
    expect(wrongVersion.exitCode).toBe(1);
    expect(wrongVersion.stdout).toBe('');
  });

  it('says in one line, shown to dom0, that the UpdateVM has no node, and runs nothing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'dom0-cli-no-node-'));
    const r = await execa(DOWNLOAD_SERVICE, [], { env: { PATH: empty, QREXEC_REMOTE_DOMAIN: 'dom0', QREXEC_SERVICE_ARGUMENT: 'v1' }, extendEnv: false, reject: false, input: 'state' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`dom0-updates.Download: node is not in this service's PATH (${empty}); install Node 20.12 or later in the UpdateVM's template`);
  });

  it('names the same service in the UpdateVM as dom0-update calls, within qrexec\'s naming rules', () => {
    const [name, argument] = AGENT_SERVICE.split('+');
    expect(name).toBe('dom0-updates.Download');
    expect(argument).toBe('v1');
    // qrexec service names and arguments: letters, digits, `.`, `_`, `-`; the call fits 31 bytes.
    expect(AGENT_SERVICE).toMatch(/^[A-Za-z0-9._-]+\+[A-Za-z0-9._-]+$/);
    expect(AGENT_SERVICE.length).toBeLessThanOrEqual(31);
  });

  it('ships a daily check-only timer whose service treats 100 as success', () => {
    expect(read('dom0-update-check.timer')).toContain('OnCalendar=daily');
    const service = read('dom0-update-check.service');
    expect(service).toContain('--check-only');
    expect(service).toContain('SuccessExitStatus=100');
  });
});
