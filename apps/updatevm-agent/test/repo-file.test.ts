import { describe, expect, it } from 'vitest';
import { rewriteRepoFile } from '../src/installroot/repo-file.ts';

const ROOT = '/var/lib/qubes/dom0-updates/root';

describe('repository file rewriting', () => {
  it('points file:// keys inside the installroot and leaves the rest alone', () => {
    const input = [
      '[updates]',
      'name=Updates for file:///etc/x',
      'baseurl=file:///srv/repo',
      'gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-a file:///etc/pki/rpm-gpg/RPM-GPG-KEY-b',
      '  file:///etc/pki/rpm-gpg/RPM-GPG-KEY-c,https://example.invalid/key',
      'enabled=1',
      '  file:///not/a/key/continuation',
    ].join('\n');
    expect(rewriteRepoFile(input, ROOT, 'u.repo').split('\n')).toEqual([
      '[updates]',
      'name=Updates for file:///etc/x',
      'baseurl=file:///srv/repo',
      `gpgkey=file://${ROOT}/etc/pki/rpm-gpg/RPM-GPG-KEY-a file://${ROOT}/etc/pki/rpm-gpg/RPM-GPG-KEY-b`,
      `  file://${ROOT}/etc/pki/rpm-gpg/RPM-GPG-KEY-c,https://example.invalid/key`,
      'enabled=1',
      '  file:///not/a/key/continuation',
    ]);
  });

  it('matches the key name case-insensitively and with spaces around =', () => {
    expect(rewriteRepoFile('GPGKEY = file:///etc/pki/rpm-gpg/K', ROOT, 'x.repo')).toBe(
      `GPGKEY = file://${ROOT}/etc/pki/rpm-gpg/K`,
    );
  });

  it('refuses a key path that climbs out of the root', () => {
    expect(() => rewriteRepoFile('gpgkey=file:///../../etc/shadow', ROOT, 'evil.repo')).toThrow(
      expect.objectContaining({ code: 'REPO_KEY_PATH' }),
    );
  });
});
