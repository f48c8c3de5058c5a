import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.ts';
import { receiverCleanArgv } from '../src/cached-repo-clean.ts';
import { AGENT_SERVICE, agentDeadlineSeconds, agentRun, checkCommandScripts, receiverArgv } from '../src/transport.ts';

const config = resolveConfig([
  {
    origin: 'file',
    settings: {
      TRANSPORT: ['local'],
      UPDATES_DIR: ['/u'],
      KEYRING: ['/k1', '/k 2'],
      AGENT_COMMAND: ['["node","/a.mjs"]'],
      RECEIVER_COMMAND: ['["node","/r.mjs"]'],
      AGENT_WORKDIR: ['/w'],
      MAX_FILES: ['5'],
      MAX_BYTES: ['6'],
      TIMEOUT: ['7'],
    },
  },
]);

describe('transport command lines', () => {
  it('gives the receiver the updates dir, every key and the limits', () => {
    expect(receiverArgv(config)).toEqual([
      'node', '/r.mjs', 'receive', '--updates-dir', '/u', '--keyring', '/k1', '--keyring', '/k 2',
      '--max-files', '5', '--max-bytes', '6', '--timeout', '7',
    ]);
  });

  it('asks the receiver to clean the configured updates dir and nothing else (--clean)', () => {
    expect(receiverCleanArgv(config)).toEqual(['node', '/r.mjs', 'clean', '--updates-dir', '/u']);
  });

  it('leaves --max-bytes to the receiver\'s own default when MAX_BYTES is empty or absent', () => {
    for (const settings of [{ MAX_BYTES: [''] }, {}]) {
      const c = resolveConfig([{ origin: 'file', settings: { KEYRING: ['/k'], ...settings } }]);
      expect(c.maxBytes).toBeUndefined();
      expect(receiverArgv(c)).not.toContain('--max-bytes');
    }
  });

  it('starts the local agent on fds 3 and 4 and tells it nothing about the receiver', () => {
    const run = agentRun(config, 'local');
    expect(run.file).toBe('node');
    expect(run.args).toEqual(['/a.mjs', 'run', '--transport', 'fd', '--workdir', '/w']);
    // dom0's trust inputs stay in dom0: no receiver command, updates dir or key reaches the UpdateVM.
    const joined = run.args.join('\n');
    for (const secret of ['/r.mjs', '/u', '/k1', '/k 2', 'receive', '--keyring']) expect(joined).not.toContain(secret);
  });

  it('calls the UpdateVM\'s qrexec service by name, with one argument per word and no shell string', () => {
    const run = agentRun({ ...config, transport: 'qrexec', agentCommand: ['node', "/opt/it's.mjs"] }, 'sys-firewall');
    expect(run.file).toBe('qvm-run');
    expect(run.args).toEqual(['--pass-io', '--no-gui', '--quiet', '--user=root', '--service', 'sys-firewall', 'dom0-updates.Download+v1']);
    expect(AGENT_SERVICE).toMatch(/^[A-Za-z0-9._-]+\+[A-Za-z0-9._-]+$/);
    // Nothing but the qube name and fixed words: no spaces, quotes or anything from the config.
    for (const arg of run.args) expect(arg).toMatch(/^[A-Za-z0-9=+._-]+$/);
    expect(run.args.join(' ')).not.toContain('/w');
  });
});

describe('the agent deadline', () => {
  it('leaves the receiver a grace beyond TIMEOUT to give its own verdict', () => {
    expect(agentDeadlineSeconds(2)).toBe(7);
    expect(agentDeadlineSeconds(300)).toBe(330);
    expect(agentDeadlineSeconds(3600)).toBe(3660);
    expect(agentDeadlineSeconds(7200)).toBe(7260);
  });
});

describe('the Node scripts dom0-update runs', () => {
  const local = (agent: string[], receiver: string[]) =>
    resolveConfig([{ origin: 'file', settings: { TRANSPORT: ['local'], AGENT_COMMAND: [JSON.stringify(agent)], RECEIVER_COMMAND: [JSON.stringify(receiver)] } }]);
  const here = import.meta.filename;

  it('refuses a command that runs a Node script that is not there, naming the setting, before anything runs', () => {
    expect(() => checkCommandScripts(local(['node', '/nonexistent/updatevm-agent.mjs'], ['node', here]), true)).toThrow(
      expect.objectContaining({ code: 'CONFIG_BAD_COMMAND', message: expect.stringMatching(/^AGENT_COMMAND runs \/nonexistent\/updatevm-agent\.mjs, which is not there: .*\(deploy\/README\.md, "Without Qubes"\)$/) }),
    );
    expect(() => checkCommandScripts(local(['/usr/bin/node', here], ['node20', '/nonexistent/dom0-receiver.mjs']), true)).toThrow(
      expect.objectContaining({ code: 'CONFIG_BAD_COMMAND', message: expect.stringContaining('RECEIVER_COMMAND runs /nonexistent/dom0-receiver.mjs') }),
    );
    // a directory is no script either
    expect(() => checkCommandScripts(local(['node', '/tmp'], ['node', here]), true)).toThrow(expect.objectContaining({ code: 'CONFIG_BAD_COMMAND' }));
  });

  it('leaves the receiver alone when it will not run, other programs, options and qrexec', () => {
    expect(() => checkCommandScripts(local(['node', here], ['node', '/nonexistent/dom0-receiver.mjs']), false)).not.toThrow();
    expect(() => checkCommandScripts(local(['sh', '/nonexistent/x'], ['node', '--no-warnings', '/nonexistent/y']), true)).not.toThrow();
    const qrexec = resolveConfig([{ origin: 'file', settings: { TRANSPORT: ['qrexec'], AGENT_COMMAND: ['["node","/nonexistent/a.mjs"]'] } }]);
    expect(() => checkCommandScripts(qrexec, false)).not.toThrow();
  });

  it('checks the receiver with qrexec too when it runs in dom0 (--clean), and never the agent there', () => {
    const qrexec = (receiver: string[]) =>
      resolveConfig([{ origin: 'file', settings: { TRANSPORT: ['qrexec'], AGENT_COMMAND: ['["node","/nonexistent/a.mjs"]'], RECEIVER_COMMAND: [JSON.stringify(receiver)] } }]);
    // pointing at the Qubes steps, where the bundle is installed
    expect(() => checkCommandScripts(qrexec(['node', '/nonexistent/dom0-receiver.mjs']), true)).toThrow(
      expect.objectContaining({
        code: 'CONFIG_BAD_COMMAND',
        message: expect.stringMatching(/^RECEIVER_COMMAND runs \/nonexistent\/dom0-receiver\.mjs, which is not there: .*\(deploy\/README\.md, "Steps on Qubes", step 2\)$/),
      }),
    );
    expect(() => checkCommandScripts(qrexec(['node', here]), true)).not.toThrow();
  });
});
