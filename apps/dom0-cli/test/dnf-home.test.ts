import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rpmMacros, writeDnfHome } from '../src/dnf-home.ts';

describe('the HOME dom0-update gives its dnf', () => {
  it('is a private directory whose .rpmmacros names RPMDB_PATH', () => {
    const home = writeDnfHome('/var/lib/rpm');
    try {
      expect(statSync(home).mode & 0o777).toBe(0o700);
      expect(readFileSync(join(home, '.rpmmacros'), 'utf8')).toBe('%_dbpath /var/lib/rpm\n');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('refuses a path rpm would expand as a macro (even as %%) or that would end the macro line', () => {
    for (const path of ['/srv/%{_var}/rpm', '/srv/100%%/rpm', '/srv/a\n%_dbpath /tmp/x']) {
      expect(() => rpmMacros(path), path).toThrow(RangeError);
    }
  });
});
