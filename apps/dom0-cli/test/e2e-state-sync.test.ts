// The state-sync stream through the real bundles, with KEYS_DIR as a Fedora-based dom0 has it:
// fedora-gpg-keys installs RPM-GPG-KEY-fedora-N-<arch> as symlinks to RPM-GPG-KEY-fedora-N-primary.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeScenario, type Scenario } from './harness.ts';

const SECRET = 'dom0-secret-for-the-state-sync-test';

/** Every regular file's bytes under dir (the agent's workdir: what the UpdateVM kept of dom0's state). */
function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      const info = statSync(path, { throwIfNoEntry: false });
      if (info?.isDirectory() === true) walk(path);
      else if (info?.isFile() === true) parts.push(readFileSync(path));
    }
  };
  walk(dir);
  return Buffer.concat(parts);
}

describe('dom0-update sends its state to the real agent', () => {
  let s: Scenario;
  let keysDir: string;
  beforeAll(async () => {
    s = await makeScenario({ install: (f) => f.packages.v1.map((p) => p.path), serve: (f) => f.repos.v2 });
    keysDir = join(s.dom0.root, 'etc/pki/rpm-gpg');
  }, 120_000);
  afterAll(async () => s.close());

  it('with a key in KEYS_DIR that is a symlink to another key there, --check-only still answers (100)', async () => {
    const link = join(keysDir, 'RPM-GPG-KEY-fixture-1-x86_64');
    symlinkSync('RPM-GPG-KEY-fixture-1', link);
    try {
      const r = await s.run(['--check-only']);
      expect(r.stderr).not.toContain('TAR_MISSING_END');
      expect(r.stdout).toContain('Updates are available');
      expect(r.exitCode).toBe(100);
    } finally {
      rmSync(link);
    }
  });

  it('leaves out a key that links outside KEYS_DIR, says so, sends none of its bytes, and the check still answers', async () => {
    const secret = join(s.dir, 'secret.txt');
    writeFileSync(secret, SECRET);
    const link = join(keysDir, 'RPM-GPG-KEY-outside');
    symlinkSync(secret, link);
    try {
      const r = await s.run(['--check-only']);
      // no stream cut short, no failure blamed on the UpdateVM
      expect(r.stderr).not.toMatch(/TAR_MISSING_END|TAR_TRUNCATED/);
      expect(r.stderr).not.toContain('[AGENT_FAILED]');
      expect(r.stderr).toContain(`not sent to the UpdateVM: ${link} -> ${secret}, a link to a file outside its directory`);
      expect(r.exitCode).toBe(100);
      expect(allBytes(join(s.dir, 'agent')).includes(Buffer.from(SECRET))).toBe(false);
    } finally {
      rmSync(link);
    }
  });

  it('a RPMDB_PATH naming another directory of dom0 (dnf\'s /var/lib/dnf) is STATE_NO_RPMDB: nothing of it sent, no database made there, never "No updates"', async () => {
    const dnfDir = join(s.dom0.root, 'var/lib/dnf');
    mkdirSync(dnfDir, { recursive: true });
    writeFileSync(join(dnfDir, 'history.sqlite'), SECRET);
    const r = await s.run(['-y', '--rpmdb-path=/var/lib/dnf']);
    expect(r.stdout).not.toContain('No updates');
    expect(r.stderr).toContain('[STATE_NO_RPMDB]');
    expect(r.exitCode).toBe(1);
    expect(readdirSync(dnfDir)).toEqual(['history.sqlite']);
    expect(allBytes(join(s.dir, 'agent')).includes(Buffer.from(SECRET))).toBe(false);
  });
});
