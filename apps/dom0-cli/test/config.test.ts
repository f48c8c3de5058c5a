import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, loadConfig, parseConfigText, refuseReceiverOverrides, resolveConfig, settingsFromEnv } from '../src/config.ts';
import { CliError, ConfigError, UsageError } from '../src/errors.ts';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return (error as CliError).code;
  }
  throw new Error('expected an error');
}

describe('config', () => {
  it('parses KEY=value lines with comments, blanks and quotes', () => {
    const raw = parseConfigText('# comment\n\nUPDATEVM = sys-net\nKEYRING=/a\nKEYRING="/b c"\nTIMEOUT=60\n', 'f');
    expect(raw).toEqual({ UPDATEVM: ['sys-net'], KEYRING: ['/a', '/b c'], TIMEOUT: ['60'] });
  });

  it('rejects unknown keys, duplicates and lines without =', () => {
    expect(codeOf(() => parseConfigText('UPDATE_VM=x\n', 'f'))).toBe('CONFIG_UNKNOWN_KEY');
    expect(codeOf(() => parseConfigText('UPDATEVM=a\nUPDATEVM=b\n', 'f'))).toBe('CONFIG_DUPLICATE_KEY');
    expect(codeOf(() => parseConfigText('just text\n', 'f'))).toBe('CONFIG_SYNTAX');
  });

  it('names the file and line of a bad line', () => {
    expect(() => parseConfigText('\nBOGUS=1\n', '/etc/x')).toThrow('/etc/x:2');
  });

  it('uses the defaults when nothing is set', () => {
    expect(resolveConfig([])).toEqual(DEFAULT_CONFIG);
  });

  it('parses every typed key', () => {
    const c = resolveConfig([
      {
        origin: 'file',
        settings: {
          TRANSPORT: ['local'],
          UPDATES_DIR: ['/u/'],
          DOM0_ROOT: ['/r'],
          AGENT_COMMAND: ['["node","/a.mjs"]'],
          RECEIVER_COMMAND: ['["node","/r.mjs"]'],
          MAX_FILES: ['7'],
          MAX_BYTES: ['1000'],
          TIMEOUT: ['9'],
          RELEASEVER: ['1'],
          AGENT_WORKDIR: ['/w'],
        },
      },
    ]);
    expect(c.transport).toBe('local');
    expect(c.updatesDir).toBe('/u/');
    expect(c.agentCommand).toEqual(['node', '/a.mjs']);
    expect(c.receiverCommand).toEqual(['node', '/r.mjs']);
    expect([c.maxFiles, c.maxBytes, c.timeoutSeconds]).toEqual([7, 1000, 9]);
    expect(c.releasever).toBe('1');
    expect(c.agentWorkdir).toBe('/w');
  });

  it('rejects bad values with specific codes', () => {
    const bad = (key: string, value: string): string =>
      codeOf(() => resolveConfig([{ origin: 'file', settings: { [key]: [value] } }]));
    expect(bad('TRANSPORT', 'ssh')).toBe('CONFIG_BAD_TRANSPORT');
    expect(bad('UPDATES_DIR', 'relative/dir')).toBe('CONFIG_BAD_PATH');
    // the agent's dnf would split the reposdir inside it
    expect(bad('AGENT_WORKDIR', '/var/lib/agent work')).toBe('CONFIG_BAD_PATH');
    expect(bad('AGENT_WORKDIR', '/var/lib/a,b')).toBe('CONFIG_BAD_PATH');
    expect(resolveConfig([{ origin: 'file', settings: { AGENT_WORKDIR: ['/var/lib/$x'] } }]).agentWorkdir).toBe('/var/lib/$x');
    // rpm expands a % in --root, --dbpath and %_dbpath, even written %%: it would read another database
    for (const key of ['DOM0_ROOT', 'RPMDB_PATH']) {
      for (const value of ['/srv/%{_arch}', '/srv/100%%']) expect([key, value, bad(key, value)]).toEqual([key, value, 'CONFIG_BAD_PATH']);
    }
    expect(resolveConfig([{ origin: 'file', settings: { UPDATES_DIR: ['/srv/100%'] } }]).updatesDir).toBe('/srv/100%');
    expect(bad('MAX_FILES', '-1')).toBe('CONFIG_BAD_NUMBER');
    // more than the receiver's reply can name
    expect(bad('MAX_FILES', '4097')).toBe('CONFIG_BAD_NUMBER');
    expect(resolveConfig([{ origin: 'file', settings: { MAX_FILES: ['4096'] } }]).maxFiles).toBe(4096);
    expect(bad('MAX_BYTES', '1e9')).toBe('CONFIG_BAD_NUMBER');
    // more than the receiver takes (ten years)
    expect(bad('TIMEOUT', '315360001')).toBe('CONFIG_BAD_NUMBER');
    expect(resolveConfig([{ origin: 'file', settings: { TIMEOUT: ['315360000'] } }]).timeoutSeconds).toBe(315360000);
    expect(bad('AGENT_COMMAND', 'node agent.mjs')).toBe('CONFIG_BAD_COMMAND');
    expect(bad('AGENT_COMMAND', '[]')).toBe('CONFIG_BAD_COMMAND');
    // an empty command would make spawn throw where no code says why
    expect(bad('AGENT_COMMAND', '[""]')).toBe('CONFIG_BAD_COMMAND');
    expect(bad('RECEIVER_COMMAND', '["", "receive"]')).toBe('CONFIG_BAD_COMMAND');
    expect(bad('UPDATEVM', 'sys-net; reboot')).toBe('CONFIG_BAD_VM_NAME');
    expect(bad('UPDATEVM', '-rf')).toBe('CONFIG_BAD_VM_NAME');
  });

  it('shows a control character in a bad value escaped as the other messages do, not as "?"', () => {
    expect(() => resolveConfig([{ origin: 'file', settings: { UPDATEVM: ['\u001b[31mevil'] } }])).toThrow('"\\x1b[31mevil" is not a valid qube name');
  });

  it('takes a qube name of 31 characters and refuses one of 32', () => {
    const vm = (name: string): string | undefined => resolveConfig([{ origin: 'file', settings: { UPDATEVM: [name] } }]).updateVm;
    expect(vm(`a${'b'.repeat(30)}`)).toBe(`a${'b'.repeat(30)}`);
    expect(codeOf(() => vm(`a${'b'.repeat(31)}`))).toBe('CONFIG_BAD_VM_NAME');
  });

  it('refuses a path holding a control character, which would corrupt the repo definition and argv handed to tools', () => {
    for (const value of ['/var/lib/qubes/up\ndates', '/var/lib/\0x', '/var/lib/\x7fx']) {
      expect(codeOf(() => resolveConfig([{ origin: 'file', settings: { UPDATES_DIR: [value] } }])), JSON.stringify(value)).toBe('CONFIG_BAD_PATH');
    }
  });

  it('refuses a command holding a NUL byte, which no process can be started with', () => {
    expect(codeOf(() => resolveConfig([{ origin: 'file', settings: { AGENT_COMMAND: ['["node", "/a\\u0000.mjs"]'] } }]))).toBe('CONFIG_BAD_COMMAND');
  });

  it('lets the environment override the file and flags override both', () => {
    const c = resolveConfig([
      { origin: 'file', settings: { UPDATEVM: ['from-file'], TIMEOUT: ['1'], MAX_FILES: ['1'] } },
      { origin: 'env', settings: settingsFromEnv({ DOM0_UPDATES_UPDATEVM: 'from-env', DOM0_UPDATES_TIMEOUT: '2' }) },
      { origin: 'flag', settings: { UPDATEVM: ['from-flag'] } },
    ]);
    expect(c.updateVm).toBe('from-flag');
    expect(c.timeoutSeconds).toBe(2);
    expect(c.maxFiles).toBe(1);
  });

  it('reads a colon-separated KEYRING from the environment', () => {
    expect(settingsFromEnv({ DOM0_UPDATES_KEYRING: '/a:/b' })).toEqual({ KEYRING: ['/a', '/b'] });
  });

  it('refuses a DOM0_UPDATES_ variable that names no key, as the file refuses an unknown key', () => {
    const env = { DOM0_UPDATES_TIMEOUTS: '5', DOM0_UPDATES_CONFIG: '/etc/x', DOM0_UPDATES_TIMEOUT: '5', 'DOM0_UPDATES_\u001b': 'x' };
    expect(codeOf(() => settingsFromEnv(env))).toBe('CONFIG_UNKNOWN_KEY');
    let message = '';
    try {
      settingsFromEnv(env);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('"DOM0_UPDATES_TIMEOUTS"');
    expect(message).not.toContain('"DOM0_UPDATES_CONFIG"');
    expect(message).not.toContain('"DOM0_UPDATES_TIMEOUT"');
    expect(message).not.toMatch(/[\u0000-\u001f]/);
    expect(settingsFromEnv({ DOM0_UPDATES_CONFIG: '/etc/x', OTHER_TIMEOUTS: '1' })).toEqual({});
  });

  it('reports a bad flag value as a usage error and a bad file value as a config error', () => {
    const flag = (): unknown => resolveConfig([{ origin: 'flag', settings: { MAX_FILES: ['many'] } }]);
    const file = (): unknown => resolveConfig([{ origin: 'file', settings: { MAX_FILES: ['many'] } }]);
    expect(flag).toThrow(UsageError);
    expect(flag).toThrow('--max-files');
    expect(file).toThrow(ConfigError);
  });

  it('requires an explicitly named config file to exist but not the default one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-config-'));
    expect(codeOf(() => loadConfig(join(dir, 'missing'), {}, {}))).toBe('CONFIG_UNREADABLE');
    expect(codeOf(() => loadConfig(undefined, { DOM0_UPDATES_CONFIG: join(dir, 'missing') }, {}))).toBe('CONFIG_UNREADABLE');
    // empty is unset: the default file, which need not exist (a flag still wins over it)
    expect(loadConfig(undefined, { DOM0_UPDATES_CONFIG: '' }, { TRANSPORT: ['local'] }).transport).toBe('local');
    const file = join(dir, 'config');
    writeFileSync(file, 'UPDATEVM=sys-whonix\nKEYRING=/k\n');
    const c = loadConfig(undefined, { DOM0_UPDATES_CONFIG: file, DOM0_UPDATES_TRANSPORT: 'local' }, { KEYRING: ['/f'] });
    expect(c.updateVm).toBe('sys-whonix');
    expect(c.transport).toBe('local');
    expect(c.keyring).toEqual(['/f']);
  });

  it('names the file and line of a bad value read from the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-config-'));
    const file = join(dir, 'config');
    writeFileSync(file, '# limits\nMAX_FILES=abc\nKEYRING=/ok\n');
    expect(() => loadConfig(file, {}, {})).toThrow(`${file}:2: MAX_FILES: "abc" is not a positive integer`);
    writeFileSync(file, 'KEYRING=/ok\nKEYRING=relative\n');
    expect(() => loadConfig(file, {}, {})).toThrow(`${file}:2: KEYRING: "relative" is not an absolute path`);
    rmSync(dir, { recursive: true });
  });

  it('refuses flags and variables that the qrexec receiver service would not see', () => {
    const flag = (): void => refuseReceiverOverrides({}, { KEYRING: ['/narrow.asc'] });
    expect(flag).toThrow(UsageError);
    expect(codeOf(flag)).toBe('CONFIG_NOT_FOR_QREXEC');
    const env = (): void => refuseReceiverOverrides({ DOM0_UPDATES_MAX_FILES: '2', DOM0_UPDATES_UPDATES_DIR: '/x' }, {});
    expect(env).toThrow(ConfigError);
    expect(env).toThrow('DOM0_UPDATES_UPDATES_DIR, DOM0_UPDATES_MAX_FILES: with TRANSPORT=qrexec');
    expect(codeOf(() => refuseReceiverOverrides({}, { MAX_BYTES: ['1'] }))).toBe('CONFIG_NOT_FOR_QREXEC');
    // settings dom0-update itself uses stay overridable
    expect(() => refuseReceiverOverrides({ DOM0_UPDATES_TIMEOUT: '5' }, { UPDATEVM: ['sys-net'], TIMEOUT: ['9'] })).not.toThrow();
  });
});
