import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RevokedSubkeyKey {
  /** the public key with its signing subkey, before the subkey was revoked: rpm imports it */
  readonly before: string;
  /** the same key after the subkey's revocation: rpm 4.18 without Sequoia cannot import it, and so the receiver's parser refuses it */
  readonly after: string;
}

/** Makes an Ed25519 key with a signing subkey, then revokes the subkey (gpg, in a home of its own). */
export function makeRevokedSubkeyKey(dir: string): RevokedSubkeyKey {
  const home = mkdtempSync(join(tmpdir(), 'dom0-cli-gpg-'));
  const gpg = (args: string[], input?: string): string =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'ignore'] });
  try {
    gpg(['--quick-gen-key', 'Rotated <rotated@example.invalid>', 'ed25519', 'sign', '0']);
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--with-colons', '--list-keys']))?.[1];
    if (fingerprint === undefined) throw new Error('gpg made no key');
    gpg(['--quick-add-key', fingerprint, 'ed25519', 'sign', '0']);
    const before = join(dir, 'before.asc');
    writeFileSync(before, gpg(['--armor', '--export', fingerprint]));
    // key 1, revoke it, reason 0 (none), empty description, confirm, save
    gpg(['--command-fd', '0', '--edit-key', fingerprint], 'key 1\nrevkey\ny\n0\n\ny\nsave\n');
    const after = join(dir, 'after.asc');
    writeFileSync(after, gpg(['--armor', '--export', fingerprint]));
    return { before, after };
  } finally {
    execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  }
}
