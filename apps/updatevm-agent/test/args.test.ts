import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, parseReceiverCommand } from '../src/cli/args.ts';
import { HELP } from '../src/cli/help.ts';
import { DEFAULT_DNF_LIMITS } from '../src/dnf/limits.ts';
import { AgentError } from '../src/errors.ts';
import { ACTION_NAMES } from '../src/request.ts';

function usageMessage(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (error) {
    if (error instanceof AgentError) return error.message;
    throw error;
  }
  throw new Error('expected a usage error');
}

/** The action names the help text lists after "ACTION: one of", in order. */
function helpActions(): string[] {
  const start = HELP.indexOf('ACTION: one of');
  const paragraph = HELP.slice(start + 'ACTION: one of'.length, HELP.indexOf('.\n', start));
  // Drop the parenthesised notes, then split the comma list.
  return paragraph
    .replace(/\([^)]*\)/g, '')
    .split(',')
    .map((a) => a.trim());
}

function usageCode(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (error) {
    if (error instanceof AgentError) {
      expect(error.exitCode).toBe(2);
      return error.code;
    }
    throw error;
  }
  throw new Error('expected a usage error');
}

describe('command line', () => {
  it('defaults download to an upgrade of everything over qrexec in the standard workdir', () => {
    const cmd = parseArgs(['download']);
    expect(cmd.kind).toBe('download');
    if (cmd.kind !== 'download') return;
    expect(cmd.request.action).toBe('upgrade');
    expect(cmd.request.packages).toEqual([]);
    expect(cmd.transport).toEqual({ kind: 'qrexec' });
    expect(cmd.options.workdir).toBe('/var/lib/qubes/dom0-updates');
  });

  it('takes a relative --workdir from the current directory (rpm and dnf refuse a relative root)', () => {
    const cmd = parseArgs(['sync-state', '--workdir', 'here/wd']);
    expect(cmd.kind === 'sync-state' ? cmd.options.workdir : undefined).toBe(join(process.cwd(), 'here/wd'));
  });

  it('treats named packages without an action as an install', () => {
    const cmd = parseArgs(['download', 'dom0-hello', 'dom0-tool']);
    if (cmd.kind !== 'download') throw new Error(cmd.kind);
    expect(cmd.request.action).toBe('install');
    expect(cmd.request.packages).toEqual(['dom0-hello', 'dom0-tool']);
  });

  it('splits what follows -- into dnf options and package names', () => {
    const cmd = parseArgs(['download', '--action=upgrade', '--', '--exclude', 'kernel*', '--refresh', 'dom0-hello']);
    if (cmd.kind !== 'download') throw new Error(cmd.kind);
    expect(cmd.request.dnfOptions).toEqual(['--exclude=kernel*', '--refresh']);
    expect(cmd.request.packages).toEqual(['dom0-hello']);
  });

  it('collects repeated --enablerepo and comma lists', () => {
    const cmd = parseArgs(['download', '--enablerepo', 'a,b', '--enablerepo=c', '--disablerepo', 'd*', '--clean', '--check-only']);
    if (cmd.kind !== 'download') throw new Error(cmd.kind);
    expect(cmd.request.enableRepos).toEqual(['a', 'b', 'c']);
    expect(cmd.request.disableRepos).toEqual(['d*']);
    expect(cmd.request.clean).toBe(true);
    expect(cmd.request.checkOnly).toBe(true);
  });

  it('takes the local receiver as a JSON argv and implies the local transport', () => {
    const cmd = parseArgs(['run', '--receiver-command', '["node","recv.mjs","receive"]', '--json-progress', '--workdir', '/w']);
    expect(cmd).toEqual({
      kind: 'run',
      options: { workdir: '/w', jsonProgress: true, dnfLimits: DEFAULT_DNF_LIMITS },
      transport: { kind: 'local', argv: ['node', 'recv.mjs', 'receive'] },
    });
  });

  it('takes --transport fd, which names no receiver at all', () => {
    const cmd = parseArgs(['run', '--transport', 'fd']);
    expect(cmd).toEqual({ kind: 'run', options: { workdir: '/var/lib/qubes/dom0-updates', jsonProgress: false, dnfLimits: DEFAULT_DNF_LIMITS }, transport: { kind: 'fd' } });
  });

  it("takes dnf's limits from the UpdateVM's own command line of run and download, in bytes", () => {
    for (const sub of ['run', 'download']) {
      const cmd = parseArgs([sub, '--max-metadata-bytes', '8388608', '--max-dnf-memory=4294967296']);
      expect(cmd.kind === 'run' || cmd.kind === 'download' ? cmd.options.dnfLimits : undefined).toEqual({ maxMetadataBytes: 8388608, maxMemoryBytes: 4294967296 });
    }
    const cmd = parseArgs(['download', '--max-dnf-memory', '1073741824']);
    expect(cmd.kind === 'download' ? cmd.options.dnfLimits : undefined).toEqual({ ...DEFAULT_DNF_LIMITS, maxMemoryBytes: 1073741824 });
    expect(usageMessage(['run', '--max-metadata-bytes', '1G'])).toBe('--max-metadata-bytes must be a whole number of bytes of at least 1048576 (1 MiB), not "1G"');
    // the floors themselves are taken; below them dnf could not start and would look as if it crashed
    const floors = parseArgs(['run', '--max-metadata-bytes', '1048576', '--max-dnf-memory', String(256 * 1024 * 1024)]);
    expect(floors.kind === 'run' ? floors.options.dnfLimits : undefined).toEqual({ maxMetadataBytes: 1048576, maxMemoryBytes: 256 * 1024 * 1024 });
    expect(usageMessage(['run', '--max-dnf-memory', '1000'])).toBe('--max-dnf-memory must be a whole number of bytes of at least 268435456 (256 MiB), not "1000"');
  });

  it('rejects a receiver command that is not a JSON array of strings', () => {
    expect(() => parseReceiverCommand('node recv.mjs')).toThrow(/JSON array/);
    expect(() => parseReceiverCommand('["node", 3]')).toThrow(/JSON array of strings/);
    expect(() => parseReceiverCommand('[]')).toThrow(/non-empty/);
  });

  it.each([
    [['frobnicate'], 'UNKNOWN_COMMAND'],
    [[], 'NO_COMMAND'],
    [['download', '--bogus'], 'UNKNOWN_OPTION'],
    [['download', '--workdir'], 'MISSING_VALUE'],
    [['download', '--check-only=yes'], 'UNEXPECTED_VALUE'],
    [['download', '--action', 'erase', 'x'], 'UNKNOWN_ACTION'],
    [['download', '--action', 'install'], 'PACKAGES_REQUIRED'],
    [['download', '-rf'], 'UNKNOWN_OPTION'],
    [['download', '--', '--installroot=/'], 'DNF_OPTION_NOT_ALLOWED'],
    [['download', '--transport', 'ssh'], 'BAD_TRANSPORT'],
    [['download', '--transport', 'local'], 'BAD_TRANSPORT'],
    [['download', '--transport', 'qrexec', '--receiver-command', '["x"]'], 'BAD_TRANSPORT'],
    [['run', '--transport', 'fd', '--receiver-command', '["x"]'], 'BAD_TRANSPORT'],
    [['run', 'dom0-hello'], 'UNEXPECTED_ARGUMENT'],
    [['run', '--action', 'install'], 'UNKNOWN_OPTION'],
    [['sync-state', '--transport', 'local'], 'UNKNOWN_OPTION'],
    [['download', '--workdir', 'a', '--workdir', 'b'], 'REPEATED_OPTION'],
    [['download', '--check-only', '--check-only'], 'REPEATED_OPTION'],
    [['run', '--json-progress', '--json-progress'], 'REPEATED_OPTION'],
    [['download', '--clean', '--clean'], 'REPEATED_OPTION'],
    [['download', '--enablerepo', 'a;b'], 'BAD_REPO_ID'],
    [['download', '--max-metadata-bytes', '0'], 'BAD_LIMIT'],
    [['run', '--max-dnf-memory', '-1'], 'BAD_LIMIT'],
    [['run', '--max-dnf-memory', String(256 * 1024 * 1024 - 1)], 'BAD_LIMIT'],
    [['download', '--max-metadata-bytes', '1048575'], 'BAD_LIMIT'],
    [['run', '--max-dnf-memory', '99999999999999999999'], 'BAD_LIMIT'],
    [['run', '--max-dnf-memory', '1', '--max-dnf-memory', '2'], 'REPEATED_OPTION'],
    [['sync-state', '--max-metadata-bytes', '1'], 'UNKNOWN_OPTION'],
  ])('refuses %j with %s', (argv, code) => {
    expect(usageCode(argv)).toBe(code);
  });

  it('answers --help and --version anywhere', () => {
    expect(parseArgs(['--help']).kind).toBe('help');
    expect(parseArgs(['download', '--help']).kind).toBe('help');
    expect(parseArgs(['--version']).kind).toBe('version');
  });

  it('lists in --help exactly the actions the parser accepts, check-only and distro-sync included', () => {
    expect(helpActions()).toEqual([...ACTION_NAMES]);
    expect(ACTION_NAMES).toEqual(expect.arrayContaining(['distro-sync', 'check-only']));
    for (const action of ACTION_NAMES) {
      const cmd = parseArgs(['download', '--action', action, 'dom0-hello']);
      if (cmd.kind !== 'download') throw new Error(cmd.kind);
      expect(cmd.request.action === action || (action === 'check-only' && cmd.request.checkOnly)).toBe(true);
    }
  });

  it('names every accepted action when refusing an unknown one', () => {
    const message = usageMessage(['download', '--action', 'erase', 'x']);
    expect(message.slice(message.indexOf('expected one of ') + 'expected one of '.length).split(', ')).toEqual([...ACTION_NAMES]);
  });

  it('hints at "--" for dnf options only where dnf options are taken (download)', () => {
    expect(usageMessage(['download', '--frobnicate'])).toMatch(/dnf options go after "--"/);
    for (const sub of ['run', 'sync-state']) {
      const message = usageMessage([sub, '--frobnicate']);
      expect(message).not.toMatch(/dnf options/);
      expect(message).toMatch(new RegExp(`^${sub}: unknown option "--frobnicate" \\(${sub} accepts --workdir, `));
    }
  });
});
