import { describe, expect, it } from 'vitest';
import { parseDnfOptions } from '../src/dnf/passthrough.ts';
import { buildRequest, parsePackageSpec } from '../src/request.ts';

describe('dnf pass-through options', () => {
  it('normalises allowed options to one --name=value element each', () => {
    expect(parseDnfOptions(['--releasever', '4.2', '-x', 'kernel*', '--setopt=timeout=30', '--security'])).toEqual([
      '--releasever=4.2',
      '--exclude=kernel*',
      '--setopt=timeout=30',
      '--security',
    ]);
  });

  it.each([
    '--installroot=/',
    '--installroot',
    '--config=/etc/dnf/dnf.conf',
    '--downloaddir=/tmp',
    '--destdir=/tmp',
    '-c',
    '--plugins',
    '--enableplugin=x',
    '--cacheonly',
    '--setopt=cachedir=/tmp',
    '--setopt=reposdir=/tmp',
    '--setopt=main.persistdir=/x',
    '--setopt=fedora.gpgkey=file:///x',
    '--setopt=pluginpath=/x',
  ])('refuses %s, which changes where dnf reads or writes', (option) => {
    expect(() => parseDnfOptions([option, 'x'])).toThrow(expect.objectContaining({ code: 'DNF_OPTION_NOT_ALLOWED' }));
  });

  it.each(['--setopt=skip_if_unavailable=True', '--setopt=fixtures.skip_if_unavailable=True'])(
    'refuses %s, which would turn a dead mirror into "no updates"',
    (option) => {
      expect(() => parseDnfOptions([option])).toThrow(expect.objectContaining({ code: 'DNF_OPTION_NOT_ALLOWED' }));
    },
  );

  it('allows per-repository network settings', () => {
    expect(parseDnfOptions(['--setopt=updates.timeout=5'])).toEqual(['--setopt=updates.timeout=5']);
  });

  it('refuses values with characters options never need', () => {
    expect(() => parseDnfOptions(['--releasever=4;rm'])).toThrow(expect.objectContaining({ code: 'DNF_OPTION_NOT_ALLOWED' }));
    expect(() => parseDnfOptions(['--setopt=timeout=1\nx'])).toThrow(expect.objectContaining({ code: 'DNF_OPTION_NOT_ALLOWED' }));
  });
});

describe('request', () => {
  it('refuses a package name that dnf would read as an option', () => {
    expect(() => parsePackageSpec('--installroot=/')).toThrow(expect.objectContaining({ code: 'BAD_PACKAGE_SPEC' }));
    expect(() => parsePackageSpec('a b')).toThrow(expect.objectContaining({ code: 'BAD_PACKAGE_SPEC' }));
  });

  it('accepts names, globs, NEVRAs and provides', () => {
    for (const spec of ['dom0-hello', 'kernel*', 'dom0-hello-2.0-1.noarch', 'perl(Foo::Bar)', '/usr/bin/x', 'a:1.0~rc^1']) {
      expect(parsePackageSpec(spec)).toBe(spec);
    }
  });

  it('allows a check of named packages without an action', () => {
    expect(buildRequest({ checkOnly: true, packages: ['dom0-hello'] }).action).toBe('upgrade');
    expect(buildRequest({ action: 'check-only' })).toMatchObject({ action: 'upgrade', checkOnly: true });
    expect(buildRequest({ checkOnly: true }).action).toBe('upgrade');
  });
});
