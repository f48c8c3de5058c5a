import { describe, expect, it } from 'vitest';
import { stageCommand, stderrReason, type StageLaunch } from '../src/receive/stage-process.ts';

const launch = (sandbox: 'none' | 'bwrap'): StageLaunch => ({
  bundlePath: '/opt/dom0-receiver.mjs',
  stagingDir: '/var/lib/qubes/updates/staging.abc123',
  owner: undefined,
  sandbox: sandbox === 'none' ? { kind: 'none' } : { kind: 'bwrap', path: '/usr/bin/bwrap' },
  config: { limits: { maxMembers: 1, maxMemberBytes: 1, maxTotalBytes: 1, idleTimeoutMs: 1, overallTimeoutMs: 1 }, armoredKeys: ['k'], now: '2024-01-01T00:00:00.000Z' },
  pinnedFingerprints: [],
  killAfterMs: 1000,
});

describe('the stage command line', () => {
  it.each(['none', 'bwrap'] as const)('with --sandbox %s keeps the permission model and a small young generation', (sandbox) => {
    const { file, args } = stageCommand(launch(sandbox));
    expect(file).toBe(sandbox === 'none' ? process.execPath : '/usr/bin/bwrap');
    const node = args.slice(args.indexOf(process.execPath) + 1);
    expect(node.some((a) => a === '--permission' || a === '--experimental-permission')).toBe(true);
    // the bundle is read through the descriptor the parent passes, never by its path
    expect(node).toContain('--preserve-symlinks-main');
    expect(node.slice(-2)).toEqual(['/proc/self/fd/4', '__stage']);
    expect(args.join(' ')).not.toContain('/opt/dom0-receiver.mjs');
    // keeps the stage's peak RSS flat however large the batch (see the README's benchmark)
    expect(node).toContain('--max-semi-space-size=1');
    // and keeps many small members under the memory target (bench/README.md, round 18)
    expect(node).toContain('--optimize-for-size');
    expect(node.filter((a) => a.startsWith('--allow-')).sort()).toEqual(['--allow-fs-read=/proc/self/fd/4', '--allow-fs-write=/var/lib/qubes/updates/staging.abc123/*', '--allow-worker']);
  });
});

describe('the stage command line under bubblewrap', () => {
  it('unshares every namespace, starts a new session (no TIOCSTI on a terminal) and dies with the receiver', () => {
    const { args } = stageCommand(launch('bwrap'));
    const bwrapArgs = args.slice(0, args.indexOf('--'));
    expect(bwrapArgs).toEqual(expect.arrayContaining(['--unshare-all', '--new-session', '--die-with-parent']));
  });
});

describe('the stage command line without bubblewrap, as root', () => {
  const owner = { uid: 2147000123, gid: 2147000123, dynamic: true };
  const namespaces = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv' };

  it('makes network and IPC namespaces first, then drops to the stage uid and gid with no groups and no new privileges', () => {
    const { file, args } = stageCommand({ ...launch('none'), owner, sandbox: { kind: 'none', namespaces } });
    expect(file).toBe('/usr/bin/unshare');
    expect(args.slice(0, args.indexOf(process.execPath))).toEqual([
      '--net', '--ipc', '--', '/usr/bin/setpriv', '--reuid=2147000123', '--regid=2147000123', '--clear-groups', '--no-new-privs', '--',
    ]);
    expect(args.slice(-2)).toEqual(['/proc/self/fd/4', '__stage']);
  });

  it('runs node itself where the receiver could not make the namespaces', () => {
    expect(stageCommand({ ...launch('none'), owner, sandbox: { kind: 'none' } }).file).toBe(process.execPath);
  });
});

describe('the reason quoted from a failed stage', () => {
  it('is the error line of a Node failure rather than the source location above it', () => {
    const lines = ['node:internal/modules/cjs/loader:1210', '  throw err;', '  ^', '', "Error: Cannot find module '/proc/self/fd/4'", '    at Module._resolveFilename'];
    expect(stderrReason(lines)).toBe("Error: Cannot find module '/proc/self/fd/4'");
  });

  it('is the first non-empty line when no line looks like an error, sanitised', () => {
    const reason = stderrReason(['', '  bwrap: setting up uid map: Permission denied\u001b[2J']);
    expect(reason).toMatch(/^bwrap: setting up uid map: Permission denied/);
    expect(reason).not.toContain('\u001b');
    expect(stderrReason(['', '   '])).toBeUndefined();
  });
});
