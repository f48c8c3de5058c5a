import { describe, expect, it } from 'vitest';
import { isForeignArch, isGlob, matchesAsName, PackageSpecs, type PackageBuild } from '../src/package-match.ts';

/** Builds of `name`: 2.0-1 noarch, and 1:2.0-1 x86_64. */
const buildsOf = (name: string): PackageBuild[] => [
  { name, epoch: '0', version: '2.0', release: '1', arch: 'noarch' },
  { name, epoch: '1', version: '2.0', release: '1', arch: 'x86_64' },
];

/** Whether `spec` selects `name` when the cached repository holds builds of that name alone. */
function matchesSpec(name: string, spec: string): boolean {
  return new PackageSpecs([], buildsOf(name)).namesOf(spec).has(name);
}

describe('a spec read against one package', () => {
  it('matches a name, name-version and name.arch, never a longer name that starts the same', () => {
    expect(matchesSpec('dom0-tool', 'dom0-tool')).toBe(true);
    expect(matchesSpec('dom0-tool', 'dom0-tool-2.0-1')).toBe(true);
    expect(matchesSpec('dom0-tool', 'dom0-tool-1:2.0-1')).toBe(true);
    expect(matchesSpec('dom0-tool', 'dom0-tool.x86_64')).toBe(true);
    expect(matchesSpec('dom0', 'dom0-tool')).toBe(false);
    expect(matchesSpec('dom0-tool', 'dom0-tool-extra')).toBe(false);
  });

  it('reads a backslash in a glob as fnmatch does: the next character stands for itself, and a trailing one matches nothing', () => {
    expect(matchesSpec('dom0-tool', 'dom0-t\\ool*')).toBe(true);
    expect(matchesSpec('dom0-tool', 'dom0-to\\*')).toBe(false);
    expect(matchesSpec('dom0-t*', 'dom0-t\\*')).toBe(true);
    expect(matchesSpec('dom0-tool', 'dom0-tool*\\')).toBe(false);
  });

  it('does not read a spec that goes on after the name with a dot and more than an arch as naming it', () => {
    expect(matchesSpec('dom0', 'dom0.tool-x')).toBe(false);
    expect(matchesSpec('dom0-tool', 'dom0-tool.noarch.x')).toBe(false);
    expect(matchesSpec('dom0-tool', 'dom0-tool.noarch')).toBe(true);
  });

  it('reads * and ? as dnf does, every other character literally', () => {
    expect(matchesSpec('dom0-tool', 'dom0-*')).toBe(true);
    expect(matchesSpec('dom0-tool', 'dom0-too?')).toBe(true);
    expect(matchesSpec('dom0-tool', 'dom0-to?')).toBe(false);
    expect(matchesSpec('dom0xtool', 'dom0.t*')).toBe(false);
    expect(matchesSpec('libstdc++', 'lib*c++')).toBe(true);
    expect(matchesSpec('libstdcxx', 'lib*c++')).toBe(false);
  });

  it('reads a [...] class as dnf does: members, ranges, negation with ! or ^', () => {
    expect(matchesSpec('dom0-extra', 'dom0-extr[a]')).toBe(true);
    expect(matchesSpec('dom0-extrb', 'dom0-extr[a]')).toBe(false);
    expect(matchesSpec('dom0-tool2', 'dom0-tool[0-9]')).toBe(true);
    expect(matchesSpec('dom0-toolx', 'dom0-tool[0-9]')).toBe(false);
    expect(matchesSpec('dom0-toolx', 'dom0-tool[!0-9]')).toBe(true);
    expect(matchesSpec('dom0-tool2', 'dom0-tool[^0-9]')).toBe(false);
    expect(matchesSpec('a-b', 'a[-.]b')).toBe(true);
    expect(matchesSpec('a.b', 'a[-.]b')).toBe(true);
    expect(matchesSpec('axb', 'a[-.]b')).toBe(false);
    // a ] right after the [ is a member, not the end
    expect(matchesSpec('a]', 'a[]]')).toBe(true);
  });

  it('takes a [ that closes nothing literally, and a backwards range as matching nothing', () => {
    expect(matchesSpec('a[b', 'a[b*')).toBe(true);
    expect(matchesSpec('ab', 'a[b*')).toBe(false);
    expect(matchesSpec('ab', 'a[z-a]')).toBe(false);
    expect(matchesSpec('ab', 'a[!z-a]')).toBe(true);
  });
});

describe('a spec read against several packages, in dnf\'s order of forms', () => {
  const specs = (...names: string[]): PackageSpecs => new PackageSpecs([], names.flatMap(buildsOf));

  it('takes the first form that matches any package: NEVRA, name.arch, name, name-version-release, name-version', () => {
    expect([...specs('rt-a', 'rt-a.b').namesOf('rt-a.b')]).toEqual(['rt-a.b']);
    expect([...specs('rt-a', 'rt-a.noarch').namesOf('rt-a.noarch')]).toEqual(['rt-a']);
    expect([...specs('rt-c').namesOf('rt-c-2.0')]).toEqual(['rt-c']);
    expect([...specs('rt-c', 'rt-c-2.0').namesOf('rt-c-2.0')]).toEqual(['rt-c-2.0']);
    expect([...specs('rt-c', 'rt-c-2.0-1').namesOf('rt-c-2.0-1')]).toEqual(['rt-c-2.0-1']);
    expect([...specs('rt-c').namesOf('rt-c-2.0-1')]).toEqual(['rt-c']);
    expect([...specs('rt-c').namesOf('rt-c-1:2.0-1.x86_64')]).toEqual(['rt-c']);
    expect([...specs('rt-c').namesOf('rt-c-1:2.0-1.noarch')]).toEqual([]);
  });

  it('matches the whole spec against each full NEVRA last, as dnf does (kernel*6.12* and the like)', () => {
    expect([...specs('python3').namesOf('python3*2.0*')]).toEqual(['python3']);
    expect([...specs('python3').namesOf('python3*1:2.0-1.x86_64')]).toEqual(['python3']);
    expect([...specs('python3').namesOf('python3*0:2.0*')]).toEqual([]);
    expect([...specs('python3').namesOf('python3*3.0*')]).toEqual([]);
  });

  it('names nothing when no form matches a package, and reads globs in every field', () => {
    expect([...specs('rt-c').namesOf('rt-c-3.0')]).toEqual([]);
    expect([...specs('rt-c').namesOf('rt-c-2*')]).toEqual(['rt-c']);
    expect([...specs('rt-c', 'rt-d').namesOf('rt-?.x86_64')].sort()).toEqual(['rt-c', 'rt-d']);
  });

  it('counts the installed packages, and no cached build of an arch rpm does not know', () => {
    const odd: PackageBuild = { name: 'rt-a', epoch: '0', version: '1', release: '1', arch: 'b' };
    expect([...new PackageSpecs([], [odd, ...buildsOf('rt-a.b')]).namesOf('rt-a.b')]).toEqual(['rt-a.b']);
    expect([...new PackageSpecs([odd], buildsOf('rt-a.b')).namesOf('rt-a.b')]).toEqual(['rt-a']);
  });
});

describe('isGlob', () => {
  it('says a spec with *, ? or [ is a glob, and a plain one is not', () => {
    for (const spec of ['dom0-*', 'dom0-too?', 'dom0-extr[a]']) expect(isGlob(spec), spec).toBe(true);
    for (const spec of ['dom0-tool', 'dom0-tool-2.0-1.x86_64', 'libstdc++', 'a]']) expect(isGlob(spec), spec).toBe(false);
  });
});

describe('package specs read as dnf reads them', () => {
  const pb = (name: string, version: string, release = '1', epoch = '0', arch = 'noarch'): PackageBuild => ({ name, epoch, version, release, arch });

  it('reads globs as fnmatch does: * matches nothing too, ? exactly one character, a one-character range its character, and the whole name', () => {
    expect(matchesAsName('kernel*', 'kernel')).toBe(true);
    expect(matchesAsName('kernel?', 'kernel')).toBe(false);
    expect(matchesAsName('kernel?', 'kernels')).toBe(true);
    expect(matchesAsName('dom0-[a-a]', 'dom0-a')).toBe(true);
    expect(matchesAsName('hello*', 'dom0-hello')).toBe(false);
    expect(matchesAsName('*hello', 'dom0-hello')).toBe(true);
    // a - last in a class stands for itself
    expect(matchesAsName('x[a-]', 'x-')).toBe(true);
    expect(matchesAsName('x[a-]', 'xb')).toBe(false);
    // without a glob character a spec is taken literally, as dnf does: a backslash escapes nothing
    expect(matchesAsName('dom0\\tool', 'dom0tool')).toBe(false);
    expect(matchesAsName('dom0\\tool', 'dom0\\tool')).toBe(true);
  });

  it('tries the full NEVRA form before name.arch, as dnf does', () => {
    const specs = new PackageSpecs([], [pb('foo', '1.0'), pb('foo-1.0-1', '5')]);
    expect([...specs.namesOf('foo-1.0-1.noarch')]).toEqual(['foo']);
  });

  it('takes a spec as selecting a build only when epoch and release match too', () => {
    const builds = [pb('foo', '1.0', '1', '0'), pb('foo', '1.0', '1', '1'), pb('foo', '1.0', '2', '0')];
    const specs = new PackageSpecs([], builds);
    expect(builds.map((b) => specs.selectsBuild(['foo-0:1.0-1'], b))).toEqual([true, false, false]);
    expect(builds.map((b) => specs.selectsBuild(['foo-1.0-1'], b))).toEqual([true, true, false]);
  });

  it('takes an arch rpm does not know for odd, not foreign', () => {
    expect(isForeignArch('x86_64', 'pdp11')).toBe(false);
    expect(isForeignArch('x86_64', 'aarch64')).toBe(true);
    for (const arch of ['noarch', 'x86_64', 'athlon', 'i686', 'i586', 'i486', 'i386']) expect(isForeignArch('x86_64', arch), arch).toBe(false);
  });
});
