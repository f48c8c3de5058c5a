import { describe, expect, it } from 'vitest';
import { stageCommand, type StageLaunch } from '../src/receive/stage-process.ts';

const launch = (sandbox: 'none' | 'bwrap'): StageLaunch => ({
  bundlePath: '/opt/dom0-receiver.mjs',
  stagingDir: '/var/lib/qubes/updates/staging.abc123',
  owner: undefined,
  sandbox,
  config: { limits: { maxMembers: 1, maxMemberBytes: 1, maxTotalBytes: 1, idleTimeoutMs: 1, overallTimeoutMs: 1 }, armoredKeys: ['k'], now: '2024-01-01T00:00:00.000Z' },
  killAfterMs: 1000,
});

describe('the stage command line', () => {
  it.each(['none', 'bwrap'] as const)('with --sandbox %s keeps the permission model and a small young generation', (sandbox) => {
    const { file, args } = stageCommand(launch(sandbox));
    expect(file).toBe(sandbox === 'none' ? process.execPath : 'bwrap');
    const node = args.slice(args.indexOf(process.execPath) + 1);
    expect(node.some((a) => a === '--permission' || a === '--experimental-permission')).toBe(true);
    expect(node).toContain('--allow-fs-read=/opt/dom0-receiver.mjs');
    expect(node).toContain('--allow-fs-write=/var/lib/qubes/updates/staging.abc123/*');
    // keeps the stage's peak RSS flat however large the batch (see the README's benchmark)
    expect(node).toContain('--max-semi-space-size=1');
    expect(node.filter((a) => a.startsWith('--allow-')).sort()).toEqual(['--allow-fs-read=/opt/dom0-receiver.mjs', '--allow-fs-write=/var/lib/qubes/updates/staging.abc123/*']);
  });
});
