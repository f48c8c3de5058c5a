// A compromised UpdateVM replaces the agent with a hostile sender speaking the protocol. For each
// attack, dom0 must refuse with a reason, exit non-zero, and change neither its installed packages
// nor its published repository.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScenario, removeScenario, type Scenario } from '../src/scenario.ts';
import type { HostileMode } from '../src/hostile-modes.ts';

interface Attack {
  readonly mode: HostileMode;
  readonly reason: RegExp;
  readonly config?: readonly string[];
}

const ATTACKS: readonly Attack[] = [
  { mode: 'unsigned', reason: /RPM_UNSIGNED/ },
  { mode: 'untrusted-key', reason: /RPM_KEY_NOT_TRUSTED/ },
  { mode: 'tampered-payload', reason: /RPM_PAYLOAD_MISMATCH/ },
  { mode: 'path-escape', reason: /TAR_BAD_NAME/ },
  { mode: 'symlink', reason: /TAR_LINK_MEMBER/ },
  { mode: 'hardlink', reason: /TAR_LINK_MEMBER/ },
  { mode: 'truncated', reason: /TAR_TRUNCATED/ },
  { mode: 'stall', reason: /TAR_TIMEOUT/, config: ['TIMEOUT=3'] },
  { mode: 'flood-bytes', reason: /TAR_MEMBER_TOO_LARGE/, config: ['MAX_BYTES=1048576'] },
  // Three valid 2.0 packages, then endless copies: the fourth header is over the cap.
  { mode: 'flood-members', reason: /TAR_TOO_MANY_MEMBERS/, config: ['MAX_FILES=3'] },
  { mode: 'weak-hash', reason: /RPM_WEAK_HASH/ },
  { mode: 'absolute-path', reason: /TAR_BAD_NAME/ },
  { mode: 'escape-in-name', reason: /TAR_BAD_NAME/ },
  { mode: 'pax-header', reason: /TAR_UNSUPPORTED_TYPE/ },
  { mode: 'device', reason: /TAR_UNSUPPORTED_TYPE/ },
  { mode: 'duplicate-name', reason: /TAR_DUPLICATE_NAME/ },
  { mode: 'trailing-garbage', reason: /TAR_TRAILING_DATA/ },
];

describe('a compromised UpdateVM', () => {
  let s: Scenario;
  let publishedBefore: string;
  let installedBefore: string[];

  beforeAll(async () => {
    // dom0 has the 1.0 packages installed; the mirror serves 1.0 and 2.0 for the honest agent,
    // which only publishes the 2.0 set (--downloadonly) so there is a repository to protect.
    s = await createScenario();
    const honest = await s.run(['-y', '--downloadonly'], { timeoutMs: 120_000 });
    expect(honest.exitCode, `${honest.stdout}\n${honest.stderr}`).toBe(0);
    installedBefore = await s.installed();
    publishedBefore = await s.publishedDigest();
    expect(publishedBefore).not.toBe('absent');
    expect(installedBefore.some((p) => p.startsWith('dom0-hello-1.0'))).toBe(true);
  }, 180_000);
  afterAll(async () => {
    await removeScenario(s);
  });

  it.each(ATTACKS)('sending $mode is refused, names $reason, and leaves dom0 unchanged', async ({ mode, reason, config }) => {
    await s.configure({ hostile: mode, extraConfig: config });
    const result = await s.run(['-y'], { timeoutMs: 90_000 });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.exitCode, output).toBe(1);
    expect(output).toContain('[REJECTED]');
    // the receiver's code, in brackets: that very reason, not one that merely mentions it
    expect(output).toMatch(new RegExp(`\\[${reason.source}\\]`));
    // Nothing the sender chose reaches dom0's terminal raw.
    expect(output).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(await s.installed()).toEqual(installedBefore);
    expect(await s.publishedDigest()).toBe(publishedBefore);
  }, 120_000);

  it('lands a validly signed but unrequested package in the repository without installing it, and reports it', async () => {
    await s.configure({ hostile: 'unrequested' });
    const result = await s.run(['-y'], { timeoutMs: 90_000 });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.exitCode, output).toBe(0);
    const installed = await s.installed();
    expect(installed.some((p) => p.startsWith('dom0-extra'))).toBe(false);
    expect(installed.some((p) => p.startsWith('dom0-hello-2.0'))).toBe(true);
    expect(output).toMatch(/unrequested[^\n]*dom0-extra|dom0-extra[^\n]*unrequested/i);
  }, 120_000);

  it('does not let a validly signed package in through Obsoletes: dom0-hello stays, upgraded, and the newcomer is reported', async () => {
    await s.configure({ hostile: 'obsoletes' });
    const result = await s.run(['-y'], { timeoutMs: 90_000 });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.exitCode, output).toBe(0);
    // It was verified and published (its signature is fine)...
    expect(output).toMatch(/verified dom0-hello-ng-1\.0-1\.noarch/);
    const installed = await s.installed();
    // ...but dnf never saw it: dom0-hello is still there, at 2.0, and dom0-hello-ng is not.
    expect(installed.some((p) => p.startsWith('dom0-hello-ng')), output).toBe(false);
    expect(installed, output).toContain('dom0-hello-2.0-1.noarch');
    expect(output).toMatch(/unrequested[^\n]*dom0-hello-ng-1\.0-1\.noarch/);
  }, 120_000);
});
