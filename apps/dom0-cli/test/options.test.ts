import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.ts';
import { resolveConfig } from '../src/config.ts';
import { parseArgs, type RunOptions } from '../src/options.ts';

function run(...argv: string[]): RunOptions {
  const command = parseArgs(argv);
  if (command.kind !== 'run') throw new Error(`expected a run command, got ${command.kind}`);
  return command.options;
}

function usageCode(...argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    return (error as UsageError).code;
  }
  throw new Error('expected a usage error');
}

describe('parseArgs', () => {
  it('refuses a single-valued option given twice, whatever its form', () => {
    for (const argv of [
      ['--timeout=5', '--timeout', '6'],
      ['--updates-dir=/a', '--updates-dir=/b'],
      ['--config=/a', '--config=/b'],
      ['--check-only', '--check-only'],
      ['-y', '--assumeyes'],
      ['-y', '-y'],
      ['--action=install', '--action=reinstall', 'x'],
    ]) {
      expect(usageCode(...argv), argv.join(' ')).toBe('USAGE_DUPLICATE');
    }
  });

  it('takes repeatable options more than once', () => {
    const o = run('--keyring=/a', '--keyring=/b', '--enablerepo=x', '--enablerepo=y', '--exclude=a', '--exclude=b');
    expect(o.overrides['KEYRING']).toEqual(['/a', '/b']);
    expect(o.enableRepos).toEqual(['x', 'y']);
    expect(o.dom0DnfOptions).toEqual(['--exclude=a', '--exclude=b']);
  });

  it('refuses an empty value as USAGE_BAD_VALUE, for every option that takes one', () => {
    for (const argv of [['--exclude='], ['--setopt='], ['--action='], ['--keyring='], ['--config', ''], ['--timeout='], ['--enablerepo=']]) {
      expect(usageCode(...argv), argv.join(' ')).toBe('USAGE_BAD_VALUE');
    }
  });

  it('defaults to upgrade with no packages', () => {
    const o = run();
    expect(o.action).toBe('upgrade');
    expect(o.packages).toEqual([]);
    expect(o.checkOnly).toBe(false);
    expect(o.assumeYes).toBe(false);
  });

  it('installs named packages by default', () => {
    const o = run('dom0-hello', 'dom0-tool-2.0');
    expect(o.action).toBe('install');
    expect(o.packages).toEqual(['dom0-hello', 'dom0-tool-2.0']);
  });

  it('takes --action in both value forms', () => {
    expect(run('--action=reinstall', 'x').action).toBe('reinstall');
    expect(run('--action', 'downgrade', 'x').action).toBe('downgrade');
    expect(run('--action=upgrade', 'x').action).toBe('upgrade');
  });

  it('rejects an unknown action', () => {
    expect(usageCode('--action=erase', 'x')).toBe('USAGE_BAD_ACTION');
  });

  it('rejects install, reinstall and downgrade without package names', () => {
    expect(usageCode('--action=install')).toBe('USAGE_NO_PACKAGES');
    expect(usageCode('--action=downgrade')).toBe('USAGE_NO_PACKAGES');
  });

  it('sets every boolean option', () => {
    const o = run('--clean', '-y', '--downloadonly', '--silent', '--json-progress');
    expect([o.clean, o.assumeYes, o.downloadOnly, o.silent, o.jsonProgress]).toEqual([true, true, true, true, true]);
    expect(run('--assumeyes').assumeYes).toBe(true);
    expect(run('--check-only').checkOnly).toBe(true);
  });

  it('refuses a value on a flag that takes none', () => {
    expect(usageCode('--clean=yes')).toBe('USAGE_UNEXPECTED_VALUE');
  });

  it('refuses --check-only with --action or --downloadonly', () => {
    expect(usageCode('--check-only', '--action=upgrade')).toBe('USAGE_CONFLICT');
    expect(usageCode('--check-only', '--downloadonly')).toBe('USAGE_CONFLICT');
    // dnf refuses the pair in the UpdateVM, after the lock and the state sync
    expect(usageCode('--best', '--nobest')).toBe('USAGE_CONFLICT');
    expect(usageCode('--nobest', '--check-only', '--best')).toBe('USAGE_CONFLICT');
  });

  it('refuses --allowerasing with -y where dom0 installs: dnf must show its removals and ask', () => {
    expect(usageCode('-y', '--allowerasing')).toBe('USAGE_CONFLICT');
    expect(usageCode('--allowerasing', '--assumeyes', 'dom0-hello')).toBe('USAGE_CONFLICT');
    expect(run('--allowerasing', 'dom0-hello').dom0DnfOptions).toContain('--allowerasing');
    expect(run('-y', '--allowerasing', '--downloadonly').dom0DnfOptions).toContain('--allowerasing');
    expect(run('-y', '--allowerasing', '--check-only').checkOnly).toBe(true);
  });

  it('collects repeated --enablerepo and --disablerepo values', () => {
    const o = run('--enablerepo=a', '--enablerepo', 'b*', '--disablerepo=c,d');
    expect(o.enableRepos).toEqual(['a', 'b*']);
    expect(o.disableRepos).toEqual(['c', 'd']);
  });

  it('rejects a repository id with shell or control characters', () => {
    expect(usageCode('--enablerepo=a;rm')).toBe('USAGE_BAD_REPO');
    expect(usageCode('--disablerepo=\u001b[31m')).toBe('USAGE_BAD_REPO');
  });

  it('rejects package names that are not package specs', () => {
    expect(usageCode('foo;bar')).toBe('USAGE_BAD_PACKAGE');
    expect(usageCode('..')).toBe('USAGE_BAD_PACKAGE');
    expect(usageCode('a b')).toBe('USAGE_BAD_PACKAGE');
  });

  it("refuses dnf's command word in front of the names (dom0-update install NAME), naming what to give instead", () => {
    const message = (...argv: string[]): string => {
      try {
        parseArgs(argv);
      } catch (error) {
        expect((error as UsageError).code).toBe('USAGE_BAD_PACKAGE');
        return (error as UsageError).message;
      }
      throw new Error('expected a usage error');
    };
    expect(message('-y', 'install', 'dom0-hello')).toBe(
      '"install" is a dnf command, not a package name: dom0-update takes package names alone; leave the word out (dom0-update NAME... installs NAME)',
    );
    expect(message('update')).toContain('dom0-update alone upgrades everything, --action=upgrade NAME... some packages');
    expect(message('upgrade', 'dom0-hello')).toContain('--action=upgrade NAME...');
    expect(message('reinstall', 'dom0-hello')).toContain('give --action=reinstall NAME...');
    // a check takes no --action: the advice is to drop the word, whichever option comes first
    expect(message('--check-only', 'upgrade')).toContain('leave the word out (dom0-update --check-only [NAME...])');
    expect(message('install', 'dom0-hello', '--check-only')).toContain('leave the word out (dom0-update --check-only [NAME...])');
    expect(message('check-update')).toContain('for a check, give --check-only');
    expect(message('check-upgrade')).toContain('for a check, give --check-only');
    expect(message('remove', 'dom0-hello')).toContain('dom0-update has no remove; it installs, upgrades, reinstalls and downgrades (--action=)');
    expect(message('clean')).toContain('dom0-update has no clean (--clean empties the caches before a run)');
    // only in front and before --: a name that merely contains one, comes later, or follows -- is a name
    expect(run('dom0-installer').packages).toEqual(['dom0-installer']);
    expect(run('--action=reinstall', 'dom0-hello', 'info').packages).toEqual(['dom0-hello', 'info']);
    expect(run('--', 'install').packages).toEqual(['install']);
  });

  it('treats names after -- as packages, and refuses ones that look like options', () => {
    expect(run('--', 'dom0-hello').packages).toEqual(['dom0-hello']);
    expect(usageCode('--', '--nogpgcheck')).toBe('USAGE_BAD_PACKAGE');
  });

  it('passes allow-listed dnf options to the UpdateVM and only the harmless ones to dom0', () => {
    const o = run('--refresh', '--setopt=install_weak_deps=False', '--best', '--exclude=dom0-extra');
    expect(o.dnfOptions).toEqual(['--refresh', '--setopt=install_weak_deps=False', '--best', '--exclude=dom0-extra']);
    expect(o.dom0DnfOptions).toEqual(['--best', '--exclude=dom0-extra']);
  });

  it('gives dom0\'s dnf the unscoped exclusions set with --setopt too, and nothing scoped to an UpdateVM repository', () => {
    const o = run('--setopt=excludepkgs=dom0-hello', '--setopt=exclude=a,b c', '--setopt=fedora.excludepkgs=c', '--setopt=includepkgs=d', '--setopt=install_weak_deps=False');
    expect(o.dnfOptions).toHaveLength(5);
    // one --exclude each, which dnf appends to the exclusions of its dnf.conf
    expect(o.dom0DnfOptions).toEqual(['--exclude=dom0-hello', '--exclude=a', '--exclude=b', '--exclude=c']);
  });

  it('never hands dom0\'s dnf an empty exclusion list, which would clear the exclusions of its dnf.conf', () => {
    for (const value of ['', ',', ',dom0-hello', ' ']) {
      const o = run(`--setopt=excludepkgs=${value}`);
      expect(o.dom0DnfOptions.every((option) => /^--exclude=[^,\s]+$/.test(option))).toBe(true);
      expect(o.dom0DnfOptions).toEqual(value === ',dom0-hello' ? ['--exclude=dom0-hello'] : []);
    }
  });

  it('takes --releasever as the RELEASEVER key (the request gets it from the resolved configuration)', () => {
    const o = run('--releasever=4.2');
    expect(o.dnfOptions).toEqual([]);
    expect(o.overrides).toEqual({ RELEASEVER: ['4.2'] });
  });

  it('takes an empty --releasever as unsetting RELEASEVER over the file\'s value, and still refuses other empty values', () => {
    for (const args of [['--releasever='], ['--releasever', '']]) {
      const o = run(...args);
      expect(o.overrides).toEqual({ RELEASEVER: [''] });
      const c = resolveConfig([
        { origin: 'file', settings: { RELEASEVER: ['4.2'] } },
        { origin: 'flag', settings: o.overrides },
      ]);
      expect(c.releasever).toBeUndefined();
    }
    expect(usageCode('--timeout=')).toBe('USAGE_BAD_VALUE');
    expect(usageCode('--action=')).toBe('USAGE_BAD_VALUE');
  });

  it('refuses dnf options outside the allow-list, such as --nogpgcheck', () => {
    expect(usageCode('--nogpgcheck')).toBe('USAGE_UNKNOWN_OPTION');
    expect(usageCode('--installroot=/tmp/x')).toBe('USAGE_UNKNOWN_OPTION');
    expect(usageCode('-x')).toBe('USAGE_UNKNOWN_OPTION');
  });

  it('names a bad value of an allowed dnf option as a bad value, not as an unknown option', () => {
    for (const arg of ['--exclude=-x', '--exclude=a/b', '--exclude=a b']) expect(usageCode(arg), arg).toBe('USAGE_BAD_VALUE');
    expect(() => parseArgs(['--exclude=-x'])).toThrow('--exclude: "-x" is not a package name or glob');
    for (const arg of ['--setopt==1', '--setopt=foo bar=1', '--setopt=a\nb', '--setopt=timeout=\u00e9']) expect(usageCode(arg), arg).toBe('USAGE_BAD_VALUE');
    expect(() => parseArgs(['--setopt==1'])).toThrow('--setopt: "=1" is not KEY=VALUE');
    for (const arg of ['--best=1', '--verbose=yes', '--quiet=1', '--refresh=']) expect(usageCode(arg), arg).toBe('USAGE_UNEXPECTED_VALUE');
    expect(() => parseArgs(['--best=1'])).toThrow('--best takes no value');
  });

  it('refuses --setopt keys the UpdateVM agent does not take, globally or per repository', () => {
    expect(usageCode('--setopt=gpgcheck=0')).toBe('USAGE_SETOPT_NOT_ALLOWED');
    expect(usageCode('--setopt=fixtures.gpgcheck=0')).toBe('USAGE_SETOPT_NOT_ALLOWED');
    expect(usageCode('--setopt=reposdir=/tmp')).toBe('USAGE_SETOPT_NOT_ALLOWED');
    expect(usageCode('--setopt=localpkg_gpgcheck=0')).toBe('USAGE_SETOPT_NOT_ALLOWED');
    // a dead mirror must stay an error, never "no updates"
    expect(usageCode('--setopt=fixtures.skip_if_unavailable=True')).toBe('USAGE_SETOPT_NOT_ALLOWED');
    expect(usageCode('--setopt=skip_if_unavailable=True')).toBe('USAGE_SETOPT_NOT_ALLOWED');
    expect(run('--setopt=fixtures.timeout=5', '--setopt=retries=2').dnfOptions).toEqual(['--setopt=fixtures.timeout=5', '--setopt=retries=2']);
  });

  it('names the expected form for --exclude and --setopt given without "="', () => {
    expect(() => parseArgs(['--exclude', 'dom0-extra'])).toThrow('--exclude takes its value after "=", as in --exclude=SPEC');
    expect(usageCode('--exclude')).toBe('USAGE_OPTION_FORM');
    expect(usageCode('--setopt', 'timeout=5')).toBe('USAGE_OPTION_FORM');
  });

  it('names a --setopt value that is not KEY=VALUE as such, not as an unknown option', () => {
    expect(() => parseArgs(['--setopt=timeout'])).toThrow('--setopt: "timeout" is not KEY=VALUE, as in --setopt=KEY=VALUE');
    expect(usageCode('--setopt=timeout')).toBe('USAGE_BAD_VALUE');
  });

  it('reports a missing value', () => {
    expect(usageCode('--action')).toBe('USAGE_MISSING_VALUE');
    expect(usageCode('--config')).toBe('USAGE_MISSING_VALUE');
  });

  it('maps configuration flags onto config keys, --keyring repeatable', () => {
    const o = run('--updatevm=sys-firewall', '--keyring=/k1', '--keyring', '/k2', '--max-files=10', '--config=/c');
    expect(o.overrides).toEqual({ UPDATEVM: ['sys-firewall'], KEYRING: ['/k1', '/k2'], MAX_FILES: ['10'] });
    expect(o.configFile).toBe('/c');
  });

  it('returns help and version before validating the rest', () => {
    expect(parseArgs(['--action=install', '--help'])).toEqual({ kind: 'help' });
    expect(parseArgs(['-h'])).toEqual({ kind: 'help' });
    expect(parseArgs(['--version'])).toEqual({ kind: 'version' });
  });
});
