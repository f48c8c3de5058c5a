import { describe, expect, it } from 'vitest';
import { offeredUpdates, planCachedRepo } from '../src/cache-plan.ts';
import type { InstalledPackage } from '../src/installed.ts';
import { parseArgs, type RunOptions } from '../src/options.ts';
import type { CachedPackage } from '../src/withheld.ts';
import { cachedBuild, KEY_ID } from './support/cached-package.ts';

const PINNED = '0123456789abcdef';
const build = (name: string, version: string, signerKeyId = PINNED, arch = 'noarch'): CachedPackage => ({ name, epoch: '0', version, release: '1', arch, signerKeyId, obsoletes: [] });
const installed: InstalledPackage[] = [{ name: 'foo', arch: 'noarch', evr: '0:1.0-1', instance: '1' }];

function offered(cached: readonly CachedPackage[], dnfConf: readonly string[], dnfConfIncluded: readonly string[] = []): string[] {
  const command = parseArgs(['-y']);
  if (command.kind !== 'run') throw new Error('not a run');
  const exclusions = { commandLine: [], dnfConf, dnfConfIncluded, dnfConfPath: '/etc/dnf/dnf.conf' };
  return planCachedRepo(cached, installed, command.options, new Set([PINNED]), 'x86_64', exclusions).offered.map((b) => `${b.name} ${b.version}`);
}

describe('the cache plan and dom0 dnf.conf exclusions', () => {
  it('reads an exclusion against every cached build, withheld ones included, as dnf does before it withholds any', () => {
    // a package named foo-2.0 (withheld: its signer is not pinned, or its arch unknown) is what
    // `foo-2.0` names for dnf, so foo's own 2.0 stays offered
    for (const named of [build('foo-2.0', '5', 'fedcba9876543210'), build('foo-2.0', '5', PINNED, 'pdp11')]) {
      expect(offered([build('foo', '2.0'), named], ['foo-2.0'])).toEqual(['foo 2.0']);
    }
    // without such a package, `foo-2.0` is foo at version 2.0
    expect(offered([build('foo', '2.0')], ['foo-2.0'])).toEqual([]);
    expect(offered([build('foo', '2.0')], ['foo-1.0'])).toEqual(['foo 2.0']);
  });

  it('offers only the builds an includepkgs names, read per build as dnf reads it, and everything when it names nothing', () => {
    const cached = [build('foo', '2.0'), build('foo', '3.0')];
    expect(offered(cached, [], ['foo'])).toEqual(['foo 2.0', 'foo 3.0']);
    expect(offered(cached, [], ['foo-3.0'])).toEqual(['foo 3.0']);
    expect(offered(cached, [], ['bar', 'f*'])).toEqual(['foo 2.0', 'foo 3.0']);
    expect(offered(cached, [], ['bar'])).toEqual([]);
    expect(offered(cached, [], ['foo.x86_64'])).toEqual([]);
    expect(offered(cached, [], [])).toEqual(['foo 2.0', 'foo 3.0']);
    // an exclusion still takes away what the inclusion names
    expect(offered(cached, ['foo-2.0'], ['foo'])).toEqual(['foo 3.0']);
  });

  it('withholds a build of an arch the machine does not run by its exact build, says why, and never as a new arch that naming lets in', () => {
    for (const argv of [['-y'], ['-y', 'foo.aarch64']]) {
      const command = parseArgs(argv);
      if (command.kind !== 'run') throw new Error('not a run');
      const exclusions = { commandLine: [], dnfConf: [], dnfConfIncluded: [], dnfConfPath: '/etc/dnf/dnf.conf' };
      // athlon runs on x86_64 in Fedora's libsolv, as i686 does
      const cached = [build('foo', '2.0', PINNED, 'aarch64'), build('foo', '2.0', PINNED, 'i686'), build('foo', '2.0', PINNED, 'athlon')];
      const plan = planCachedRepo(cached, installed, command.options, new Set([PINNED]), 'x86_64', exclusions);
      expect(plan.foreignArch.map((b) => b.spec), argv.join(' ')).toEqual(['foo-0:2.0-1.aarch64']);
      expect(plan.excluded, argv.join(' ')).toContain('foo-0:2.0-1.aarch64');
      expect(plan.newArch.map((b) => b.spec), argv.join(' ')).not.toContain('foo-0:2.0-1.aarch64');
      expect(plan.offered.map((b) => b.arch), argv.join(' ')).not.toContain('aarch64');
      expect(plan.excludedBy(cached[0]!)).toBe('this machine (x86_64) does not run aarch64 builds');
      expect(plan.excludedBy(cached[1]!)).toBeUndefined();
      expect(plan.excludedBy(cached[2]!)).toBeUndefined();
    }
    // on a machine not in the table, every arch rpm knows is taken to run, as before
    const command = parseArgs(['-y']);
    if (command.kind !== 'run') throw new Error('not a run');
    const plan = planCachedRepo([build('foo', '2.0', PINNED, 'aarch64')], installed, command.options, new Set([PINNED]), 'riscv64', { commandLine: [], dnfConf: [], dnfConfIncluded: [], dnfConfPath: '/etc/dnf/dnf.conf' });
    expect(plan.foreignArch).toEqual([]);
  });
});

describe('the cache plan', () => {
  const PINNED = '0123456789abcdef';
  const noExclusions = { commandLine: [], dnfConf: [], dnfConfIncluded: [], dnfConfPath: '/etc/dnf/dnf.conf' };
  const options = (...argv: string[]): RunOptions => {
    const command = parseArgs(argv);
    if (command.kind !== 'run') throw new Error('not a run');
    return command.options;
  };
  const installed: InstalledPackage[] = [{ name: 'foo', arch: 'noarch', evr: '0:2.0-1', instance: '1' }];

  it('gives dnf the exact pattern of every build it withholds as a rollback or for a signer no longer pinned', () => {
    const older = cachedBuild('foo', '1.0');
    const unpinned = { ...cachedBuild('foo', '3.0'), signerKeyId: 'fedcba9876543210' };
    const plan = planCachedRepo([older, unpinned, cachedBuild('foo', '2.5')], installed, options('-y'), new Set([PINNED, KEY_ID]), 'x86_64', noExclusions);
    expect(plan.excluded).toEqual(expect.arrayContaining(['foo-0:1.0-1.noarch', 'foo-0:3.0-1.noarch']));
    expect(plan.offered.map((b) => b.version)).toEqual(['2.5']);
  });

  it('names a build withheld for its signer or its unknown arch for that alone, not also as a rollback, a new arch or a new name', () => {
    const unpinnedOld = { ...cachedBuild('foo', '1.0'), signerKeyId: 'fedcba9876543210' };
    const oddArch = cachedBuild('foo', '3.0', [], 'pdp11');
    const unpinnedNew = { ...cachedBuild('bar', '1.0'), signerKeyId: 'fedcba9876543210' };
    const plan = planCachedRepo([unpinnedOld, oddArch, unpinnedNew], installed, options('-y'), new Set([KEY_ID]), 'x86_64', noExclusions);
    expect(plan.unpinned.map((b) => b.spec)).toEqual(['foo-0:1.0-1.noarch', 'bar-0:1.0-1.noarch']);
    expect(plan.oddArch.map((b) => b.spec)).toEqual(['foo-0:3.0-1.pdp11']);
    expect(plan.older).toEqual([]);
    expect(plan.newArch).toEqual([]);
    expect(plan.withheld).toEqual([]);
  });

  it('counts as cached updates only the names given, when names were given', () => {
    const both: InstalledPackage[] = [...installed, { name: 'bar', arch: 'noarch', evr: '0:1.0-1', instance: '2' }];
    const cached = [cachedBuild('foo', '3.0'), cachedBuild('bar', '2.0')];
    const updates = (...argv: string[]): string[] =>
      offeredUpdates(planCachedRepo(cached, both, options(...argv), new Set([KEY_ID]), 'x86_64', noExclusions), both).map((b) => b.nevra);
    expect(updates('-y', 'foo')).toEqual(['foo-3.0-1.noarch']);
    expect(updates('-y')).toEqual(['foo-3.0-1.noarch', 'bar-2.0-1.noarch']);
    expect(updates('-y', 'fo*')).toEqual(['foo-3.0-1.noarch']);
    expect(updates('-y', 'foo-3.0')).toEqual(['foo-3.0-1.noarch']);
  });

  it('gives dnf the exact pattern of every build it withholds for its Obsoletes, its new arch or its unknown arch', () => {
    const cached = [
      cachedBuild('foo', '3.0', [{ name: 'bar', flags: '', evr: '' }]),
      cachedBuild('foo', '3.0', [], 'i686'),
      cachedBuild('foo', '3.0', [], 'pdp11'),
      cachedBuild('foo', '2.5'),
    ];
    const local: InstalledPackage[] = [...installed, { name: 'bar', arch: 'noarch', evr: '0:1.0-1', instance: '2' }];
    const plan = planCachedRepo(cached, local, options('-y'), new Set([KEY_ID]), 'x86_64', noExclusions);
    expect([...plan.excluded].sort()).toEqual(['foo-0:3.0-1.i686', 'foo-0:3.0-1.noarch', 'foo-0:3.0-1.pdp11']);
    expect(plan.offered.map((b) => `${b.name} ${b.version} ${b.arch}`)).toEqual(['foo 2.5 noarch']);
  });

  it('withholds a build of an installed name whose Obsoletes would replace a new name the user asked for', () => {
    const cached = [cachedBuild('foo', '3.0', [{ name: 'newpkg', flags: '', evr: '' }]), cachedBuild('newpkg', '1.0')];
    const plan = planCachedRepo(cached, installed, options('-y', 'newpkg'), new Set([KEY_ID]), 'x86_64', noExclusions);
    expect(plan.obsoleting.map((b) => [b.spec, b.replaces])).toEqual([['foo-0:3.0-1.noarch', ['the requested newpkg']]]);
    expect(plan.excluded).toEqual(['foo-0:3.0-1.noarch']);
  });

  it('gives dnf the exact pattern of every build of a name it withholds', () => {
    const plan = planCachedRepo([cachedBuild('newpkg', '1.0'), cachedBuild('newpkg', '2.0')], installed, options('-y'), new Set([KEY_ID]), 'x86_64', noExclusions);
    expect(plan.excluded).toEqual(['newpkg-0:1.0-1.noarch', 'newpkg-0:2.0-1.noarch']);
  });

  it("reads a dnf.conf exclusion against dom0's installed packages too: `foo-2.5` names an installed package of that name", () => {
    const exclusions = { ...noExclusions, dnfConf: ['foo-2.5'] };
    const offered = (extra: readonly InstalledPackage[]): string[] =>
      planCachedRepo([cachedBuild('foo', '2.5')], [...installed, ...extra], options('-y'), new Set([KEY_ID]), 'x86_64', exclusions).offered.map((b) => `${b.name} ${b.version}`);
    expect(offered([])).toEqual([]);
    expect(offered([{ name: 'foo-2.5', arch: 'noarch', evr: '0:1.0-1', instance: '2' }])).toEqual(['foo 2.5']);
  });

  it('reads the names given against the builds dnf sees, not one withheld for its signer', () => {
    // a package named foo-3.0 that dnf never sees cannot make `foo-3.0` name it instead of foo 3.0
    const lookalike = { ...cachedBuild('foo-3.0', '1.0'), signerKeyId: 'fedcba9876543210' };
    const plan = planCachedRepo([cachedBuild('foo', '3.0'), lookalike], installed, options('-y', 'foo-3.0'), new Set([KEY_ID]), 'x86_64', noExclusions);
    expect(plan.offered.map((b) => `${b.name} ${b.version}`)).toEqual(['foo 3.0']);
  });

  it('lets an older build in only with --action=downgrade and a spec that selects it, never with an install of it by name', () => {
    const older = (...argv: string[]): string[] =>
      planCachedRepo([cachedBuild('foo', '1.0')], installed, options(...argv), new Set([KEY_ID]), 'x86_64', noExclusions).older.map((b) => b.spec);
    expect(older('-y', 'foo-1.0')).toEqual(['foo-0:1.0-1.noarch']);
    expect(older('-y', '--action=downgrade', 'foo-1.0')).toEqual([]);
  });

  it("offers an update from noarch to the machine's own arch, and withholds a new name only when it is not given", () => {
    const plan = (...argv: string[]): ReturnType<typeof planCachedRepo> =>
      planCachedRepo([cachedBuild('foo', '3.0', [], 'x86_64'), cachedBuild('newpkg', '1.0')], installed, options(...argv), new Set([KEY_ID]), 'x86_64', noExclusions);
    expect(plan('-y').newArch).toEqual([]);
    expect(plan('-y').withheld).toEqual(['newpkg']);
    expect(plan('-y', 'newpkg').withheld).toEqual([]);
  });
});
