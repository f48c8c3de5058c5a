import { describe, expect, it } from 'vitest';
import { planCachedRepo } from '../src/cache-plan.ts';
import type { InstalledPackage } from '../src/installed.ts';
import { parseArgs } from '../src/options.ts';
import type { CachedPackage } from '../src/withheld.ts';

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
