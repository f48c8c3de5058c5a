import { describe, expect, it } from 'vitest';
import { isGlob, PackageSpecs, type PackageBuild } from '../src/package-match.ts';

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
