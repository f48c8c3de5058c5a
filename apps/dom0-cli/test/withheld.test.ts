import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cachedRepoDefinition } from '../src/cached-repo.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtures } from '@dom0-updates/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.ts';
import { dom0DnfInstallArgs } from '../src/dom0-dnf.ts';
import { InstallError } from '../src/errors.ts';
import type { InstalledPackage } from '../src/installed.ts';
import { listCachedRepoNames, namesToWithhold, newArchBuilds, obsoletingBuilds, oddArchBuilds, olderBuilds, parseCachedLine, pinPublishedRepo, readCachedRepo, renamingBuilds, unpinnedBuilds, withheldBuildSpecs, withheldButInstalled, type CachedPackage } from '../src/withheld.ts';
import { cachedBuild, KEY_ID } from './support/cached-package.ts';

const installed: InstalledPackage[] = [
  { name: 'dom0-hello', arch: 'noarch', evr: '0:1.0-1', instance: '1' },
  { name: 'dom0-tool', arch: 'noarch', evr: '0:1.0-1', instance: '2' },
];
/** One 1.0-1 noarch build per name, unless `name-version` says another version. */
const cachedNamed = (...names: string[]): CachedPackage[] =>
  names.map((spec) => {
    const [name = '', version = '1.0'] = spec.split('@');
    return { name, epoch: '0', version, release: '1', arch: 'noarch', signerKeyId: KEY_ID, obsoletes: [] };
  });
const repo = cachedNamed('dom0-extra', 'dom0-hello', 'dom0-hello-ng', 'dom0-tool', 'kernel-latest');

describe('names withheld from dom0\'s dnf', () => {
  it('withholds every cached name that is neither installed nor requested', () => {
    expect(namesToWithhold(repo, installed, [])).toEqual(['dom0-extra', 'dom0-hello-ng', 'kernel-latest']);
  });

  it('lets in what the user named, by name, name-version or glob', () => {
    expect(namesToWithhold(repo, installed, ['dom0-extra'])).toEqual(['dom0-hello-ng', 'kernel-latest']);
    expect(namesToWithhold(repo, installed, ['dom0-extra-1.0-1'])).toEqual(['dom0-hello-ng', 'kernel-latest']);
    expect(namesToWithhold(repo, installed, ['kernel*'])).toEqual(['dom0-extra', 'dom0-hello-ng']);
  });

  it('does not let in a longer name because a shorter one was named', () => {
    expect(namesToWithhold(repo, installed, ['dom0-hello'])).toContain('dom0-hello-ng');
  });

  it('does not let in a shorter name because a longer one was named', () => {
    const names = cachedNamed('qubes', 'qubes-foo@2.0', 'qubes-foo-bar');
    expect(namesToWithhold(names, [], ['qubes-foo-bar'])).toEqual(['qubes', 'qubes-foo']);
    expect(namesToWithhold(names, [], ['qubes-foo-bar.noarch'])).toEqual(['qubes', 'qubes-foo']);
    expect(namesToWithhold(names, [], ['qubes-foo-2.0-1'])).toEqual(['qubes', 'qubes-foo-bar']);
  });

  it('reads NAME.SUFFIX as naming NAME only when a build of NAME has that arch, as dnf does', () => {
    // dnf reads `rt-a.b` as the package of that whole name (`b` is no arch): rt-a stays withheld
    expect(namesToWithhold(cachedNamed('rt-a', 'rt-a.b'), [], ['rt-a.b'])).toEqual(['rt-a']);
    expect(namesToWithhold(cachedNamed('python3', 'python3.13'), [], ['python3.13'])).toEqual(['python3']);
    expect(namesToWithhold(cachedNamed('rt-a', 'rt-a.b'), [], ['rt-a.noarch'])).toEqual(['rt-a.b']);
    // a signed header can give any arch: one rpm does not know cannot make `rt-a.b` read as rt-a
    const oddArch = [...cachedNamed('rt-a.b'), { ...cachedNamed('rt-a')[0]!, arch: 'b' }];
    expect(namesToWithhold(oddArch, [], ['rt-a.b'])).toEqual(['rt-a']);
  });

  it('reads NAME-VERSION as naming NAME only when a build of NAME has that version and no package has the whole name', () => {
    expect(namesToWithhold(cachedNamed('rt-c', 'rt-c-2x'), [], ['rt-c-2x'])).toEqual(['rt-c']);
    expect(namesToWithhold(cachedNamed('rt-c@2x', 'rt-c-2x'), [], ['rt-c-2x'])).toEqual(['rt-c']);
    expect(namesToWithhold(cachedNamed('rt-c@2x'), [], ['rt-c-2x'])).toEqual([]);
    expect(namesToWithhold(cachedNamed('rt-c@2.0'), [], ['rt-c-2.0'])).toEqual([]);
    expect(namesToWithhold(cachedNamed('rt-c@2.0'), [], ['rt-c-1:2.0-1', 'rt-c-2.0-2'])).toEqual(['rt-c']);
    expect(namesToWithhold(cachedNamed('rt-c@2.0'), [], ['rt-c-0:2.0-1.noarch'])).toEqual([]);
    expect(namesToWithhold(cachedNamed('rt-c@2.0'), [], ['rt-c-2.*'])).toEqual([]);
  });

  it('withholds every build of an arch rpm does not know, by its exact build: dnf\'s query would see it', () => {
    const odd = { ...cachedNamed('python3@3.99')[0]!, arch: '13' };
    expect(oddArchBuilds([odd, ...cachedNamed('python3', 'python3.13')]).map((b) => b.spec)).toEqual(['python3-0:3.99-1.13']);
  });

  it('reads a spec against the installed packages too', () => {
    const local: InstalledPackage[] = [{ name: 'rt-a.b', arch: 'noarch', evr: '0:1.0-1', instance: '9' }];
    expect(namesToWithhold(cachedNamed('rt-a', 'rt-a.b'), local, ['rt-a.b'])).toEqual(['rt-a']);
  });
});

describe('exact patterns for the builds of withheld names', () => {
  const build = (name: string, version: string, epoch = '0'): CachedPackage => ({ name, epoch, signerKeyId: KEY_ID, version, release: '1', arch: 'noarch', obsoletes: [] });

  it('withholds each build of a withheld name by its full NEVRA, never by the bare name dnf could read as another package\'s', () => {
    const cached = [build('dom0-tool.noarch', '2.0'), build('dom0-tool.noarch', '3.0', '2'), build('dom0-hello-2.0-1.noarch', '1'), build('dom0-tool', '2.0')];
    expect(withheldBuildSpecs(cached, ['dom0-tool.noarch', 'dom0-hello-2.0-1.noarch'])).toEqual([
      'dom0-tool.noarch-0:2.0-1.noarch',
      'dom0-tool.noarch-2:3.0-1.noarch',
      'dom0-hello-2.0-1.noarch-0:1-1.noarch',
    ]);
    expect(withheldBuildSpecs(cached, [])).toEqual([]);
  });

  it('stops the run for a build whose version dnf could not take literally', () => {
    expect(() => withheldBuildSpecs([build('dom0-evil', '1*')], ['dom0-evil'])).toThrow(/dom0-evil is neither installed nor requested, and its version cannot be withheld exactly/);
  });

  it('stops the run for a build whose epoch dnf could not take literally', () => {
    expect(() => withheldBuildSpecs([build('dom0-evil', '1.0', '1*')], ['dom0-evil'])).toThrow(/dom0-evil is neither installed nor requested, and its version cannot be withheld exactly: "1\*:1\.0-1\.noarch"/);
  });
});

describe('a withheld build dnf installed all the same', () => {
  const pkg = (name: string, evr: string, instance: string): InstalledPackage => ({ name, arch: 'noarch', evr, instance });

  it('is found among what the transaction added, by its exact pattern', () => {
    const before = [pkg('dom0-tool', '0:1.0-1', '1')];
    const after = [pkg('dom0-tool', '0:1.0-1', '1'), pkg('dom0-tool.noarch', '0:2.0-1', '7'), pkg('dom0-hello', '0:2.0-1', '8')];
    expect(withheldButInstalled(before, after, ['dom0-tool.noarch-0:2.0-1.noarch', 'dom0-tool-0:1.0-1.noarch'])).toEqual([after[1]]);
  });

  it('leaves alone what was installed before the transaction and builds not withheld', () => {
    const before = [pkg('dom0-tool', '0:1.0-1', '1')];
    expect(withheldButInstalled(before, before, ['dom0-tool-0:1.0-1.noarch'])).toEqual([]);
    expect(withheldButInstalled(before, [...before, pkg('dom0-hello', '0:2.0-1', '8')], ['dom0-hello-1:2.0-1.noarch'])).toEqual([]);
  });
});

describe('builds withheld for their Obsoletes', () => {
  const build = (name: string, version: string, obsoletes: CachedPackage['obsoletes'], epoch = '0'): CachedPackage => ({
    name,
    epoch,
    signerKeyId: KEY_ID,
    version,
    release: '1',
    arch: 'noarch',
    obsoletes,
  });

  it('takes a spec as consent only for what dnf reads it as naming: python3.13 does not name python3', () => {
    const local: InstalledPackage[] = [...installed, { name: 'python3', arch: 'noarch', evr: '0:3.12-1', instance: '3' }];
    const cached = [build('python3', '3.13', [{ name: 'dom0-hello', flags: '', evr: '' }])];
    expect(obsoletingBuilds(cached, local, ['python3.13']).map((b) => b.spec)).toEqual(['python3-0:3.13-1.noarch']);
    expect(obsoletingBuilds(cached, local, ['python3-3.13'])).toEqual([]);
  });

  it('takes a spec as consent only for the builds it selects: python3-3.13 is no consent for 3.14', () => {
    const local: InstalledPackage[] = [...installed, { name: 'python3', arch: 'noarch', evr: '0:3.12-1', instance: '3' }];
    const obsoletesHello = [{ name: 'dom0-hello', flags: '', evr: '' }];
    const cached = [build('python3', '3.13', obsoletesHello), build('python3', '3.14', obsoletesHello)];
    expect(obsoletingBuilds(cached, local, ['python3-3.13']).map((b) => b.spec)).toEqual(['python3-0:3.14-1.noarch']);
    expect(obsoletingBuilds(cached, local, ['python3-0:3.14-1.noarch']).map((b) => b.spec)).toEqual(['python3-0:3.13-1.noarch']);
    expect(obsoletingBuilds(cached, local, ['python3'])).toEqual([]);
  });

  it('withholds the builds of a requested new name that the spec does not select, when they obsolete something', () => {
    const obsoletesHello = [{ name: 'dom0-hello', flags: '', evr: '' }];
    const cached = [build('python3', '3.13', obsoletesHello), build('python3', '3.14', obsoletesHello)];
    // python3 is not installed here
    expect(obsoletingBuilds(cached, installed, ['python3-3.13']).map((b) => b.spec)).toEqual(['python3-0:3.14-1.noarch']);
    // a glob that selects a new name is the user's choice, as the name alone is
    expect(obsoletingBuilds(cached, installed, ['python*'])).toEqual([]);
    expect(obsoletingBuilds(cached, installed, ['python3'])).toEqual([]);
  });

  it('withholds the one build of an installed name that obsoletes another installed package', () => {
    const cached = [build('dom0-tool', '2.0', []), build('dom0-tool', '3.0', [{ name: 'dom0-hello', flags: '', evr: '' }])];
    expect(obsoletingBuilds(cached, installed, [])).toEqual([
      { package: cached[1], spec: 'dom0-tool-0:3.0-1.noarch', replaces: ['the installed dom0-hello.noarch 1.0-1'] },
    ]);
  });

  it('names the epoch in the pattern when there is one', () => {
    const cached = [build('dom0-tool', '3.0', [{ name: 'dom0-hello', flags: '<', evr: '2.0' }], '2')];
    expect(obsoletingBuilds(cached, installed, []).map((b) => b.spec)).toEqual(['dom0-tool-2:3.0-1.noarch']);
  });

  it('leaves a build whose Obsoletes range misses the installed version, or names only itself or what is not installed', () => {
    const cached = [
      build('dom0-tool', '3.0', [{ name: 'dom0-hello', flags: '<', evr: '1.0' }]),
      build('dom0-tool', '3.1', [{ name: 'dom0-tool', flags: '<', evr: '3.0' }]),
      build('dom0-tool', '3.2', [{ name: 'dom0-gone', flags: '', evr: '' }]),
    ];
    expect(obsoletingBuilds(cached, installed, [])).toEqual([]);
  });

  it('lets in a build of a name the user named', () => {
    const cached = [build('dom0-tool', '3.0', [{ name: 'dom0-hello', flags: '', evr: '' }])];
    expect(obsoletingBuilds(cached, installed, ['dom0-tool'])).toEqual([]);
    expect(obsoletingBuilds(cached, installed, ['dom0-tool-0:3.0-1.noarch'])).toEqual([]);
  });

  it('does not take a glob as consent to a removal', () => {
    const cached = [build('dom0-tool', '3.0', [{ name: 'dom0-hello', flags: '', evr: '' }])];
    expect(obsoletingBuilds(cached, installed, ['dom0-t*']).map((b) => b.spec)).toEqual(['dom0-tool-0:3.0-1.noarch']);
  });

  it('withholds a build whose Obsoletes match a requested name, in a version not installed', () => {
    const cached = [build('dom0-tool', '3.0', [{ name: 'dom0-hello', flags: '>=', evr: '2.0' }])];
    expect(obsoletingBuilds(cached, installed, [])).toEqual([]);
    expect(obsoletingBuilds(cached, installed, ['dom0-hello'])).toEqual([
      { package: cached[0], spec: 'dom0-tool-0:3.0-1.noarch', replaces: ['the requested dom0-hello'] },
    ]);
  });

  it('leaves names that are not installed to namesToWithhold', () => {
    const cached = [build('dom0-hello-ng', '1.0', [{ name: 'dom0-hello', flags: '<', evr: '3.0' }])];
    expect(obsoletingBuilds(cached, installed, [])).toEqual([]);
    expect(namesToWithhold(cachedNamed('dom0-hello-ng'), installed, [])).toEqual(['dom0-hello-ng']);
  });

  it('refuses a version dnf would read as a pattern', () => {
    const cached = [build('dom0-tool', '3.*', [{ name: 'dom0-hello', flags: '', evr: '' }])];
    expect(() => obsoletingBuilds(cached, installed, [])).toThrow(expect.objectContaining({ code: 'CACHED_REPO_BAD_NAME' }));
  });
});

describe('builds older than what is installed (rollbacks)', () => {
  const build = (name: string, version: string, epoch = '0', arch = 'noarch'): CachedPackage => ({ name, epoch, version, release: '1', arch, signerKeyId: KEY_ID, obsoletes: [] });
  const newer: InstalledPackage[] = [
    { name: 'dom0-hello', arch: 'noarch', evr: '0:2.0-1', instance: '1' },
    { name: 'kernel', arch: 'x86_64', evr: '0:6.1-1', instance: '2' },
    { name: 'kernel', arch: 'x86_64', evr: '0:6.3-1', instance: '3' },
  ];

  it('withholds each older build of an installed name, exactly, whatever the action', () => {
    const cached = [build('dom0-hello', '1.0'), build('dom0-hello', '1.5'), build('dom0-hello', '2.0'), build('dom0-hello', '3.0')];
    for (const action of ['upgrade', 'install', 'reinstall'] as const) {
      expect(olderBuilds(cached, newer, action, ['dom0-hello']).map((b) => b.spec)).toEqual(['dom0-hello-0:1.0-1.noarch', 'dom0-hello-0:1.5-1.noarch']);
    }
    expect(olderBuilds(cached, newer, 'upgrade', [])[0]).toEqual({ package: cached[0], spec: 'dom0-hello-0:1.0-1.noarch', installed: 'dom0-hello.noarch 2.0-1' });
  });

  it('names epoch 0 in the pattern, so the genuine 1:1.0-1 stays visible when the old 0:1.0-1 is withheld', () => {
    const installed1: InstalledPackage[] = [{ name: 'dom0-hello', arch: 'noarch', evr: '0:2.0-1', instance: '1' }];
    const cached = [build('dom0-hello', '1.0', '0'), build('dom0-hello', '1.0', '1')];
    expect(olderBuilds(cached, installed1, 'upgrade', []).map((b) => b.spec)).toEqual(['dom0-hello-0:1.0-1.noarch']);
  });

  it('orders by epoch first, as rpm does: a higher version with a lower epoch is older', () => {
    const epoch1: InstalledPackage[] = [{ name: 'dom0-hello', arch: 'noarch', evr: '1:1.0-1', instance: '1' }];
    expect(olderBuilds([build('dom0-hello', '9.0')], epoch1, 'upgrade', []).map((b) => b.spec)).toEqual(['dom0-hello-0:9.0-1.noarch']);
    expect(olderBuilds([build('dom0-hello', '0.5', '2')], epoch1, 'upgrade', [])).toEqual([]);
  });

  it('compares against the newest of several installed versions, and leaves one that is itself installed', () => {
    const cached = [build('kernel', '6.1', '0', 'x86_64'), build('kernel', '6.2', '0', 'x86_64'), build('kernel', '6.4', '0', 'x86_64')];
    expect(olderBuilds(cached, newer, 'upgrade', []).map((b) => b.spec)).toEqual(['kernel-0:6.2-1.x86_64']);
  });

  it('counts an older build of another arch as a rollback too', () => {
    expect(olderBuilds([build('dom0-hello', '1.0', '0', 'x86_64')], newer, 'upgrade', []).map((b) => b.spec)).toEqual(['dom0-hello-0:1.0-1.x86_64']);
  });

  it('lets older builds in only for --action=downgrade of a name on the command line', () => {
    const cached = [build('dom0-hello', '1.0'), build('kernel', '6.0', '0', 'x86_64')];
    expect(olderBuilds(cached, newer, 'downgrade', ['dom0-hello']).map((b) => b.spec)).toEqual(['kernel-0:6.0-1.x86_64']);
    expect(olderBuilds(cached, newer, 'install', ['dom0-hello']).map((b) => b.spec)).toEqual(['dom0-hello-0:1.0-1.noarch', 'kernel-0:6.0-1.x86_64']);
  });

  it('lets in only the older builds the downgrade spec selects', () => {
    const cached = [build('dom0-hello', '1.0'), build('dom0-hello', '1.5')];
    expect(olderBuilds(cached, newer, 'downgrade', ['dom0-hello-1.5']).map((b) => b.spec)).toEqual(['dom0-hello-0:1.0-1.noarch']);
    expect(olderBuilds(cached, newer, 'downgrade', ['dom0-hello-1.5-1.noarch']).map((b) => b.spec)).toEqual(['dom0-hello-0:1.0-1.noarch']);
    expect(olderBuilds(cached, newer, 'downgrade', ['dom0-hello.noarch'])).toEqual([]);
  });

  it('leaves names that are not installed alone (namesToWithhold decides on them)', () => {
    expect(olderBuilds([build('dom0-extra', '0.1')], newer, 'upgrade', [])).toEqual([]);
  });

  it('refuses an older build whose version dnf would read as a pattern', () => {
    expect(() => olderBuilds([build('dom0-hello', '1.*')], newer, 'upgrade', [])).toThrow(
      expect.objectContaining({ code: 'CACHED_REPO_BAD_NAME', message: expect.stringContaining('is older than its installed version, and its version cannot be withheld exactly') }),
    );
  });
});

describe('builds of an installed name in a new arch (multilib)', () => {
  const lib: InstalledPackage[] = [{ name: 'dom0-lib', arch: 'x86_64', evr: '0:1.0-1', instance: '7' }];
  const build = (arch: string, name = 'dom0-lib', version = '2.0'): CachedPackage => ({ name, epoch: '0', version, release: '1', arch, signerKeyId: KEY_ID, obsoletes: [] });

  it('withholds a build in an arch no installed instance of its name has, exactly', () => {
    const found = newArchBuilds([build('i686'), build('x86_64')], lib, [], 'x86_64');
    expect(found.map((b) => [b.spec, b.installedArches])).toEqual([['dom0-lib-0:2.0-1.i686', ['x86_64']]]);
  });

  it('leaves a change to noarch or from noarch to the machine\'s arch (an upgrade of the same package), and names not installed', () => {
    expect(newArchBuilds([build('noarch'), build('i686', 'dom0-new')], lib, [], 'x86_64')).toEqual([]);
    const noarch: InstalledPackage[] = [{ ...lib[0]!, arch: 'noarch' }];
    expect(newArchBuilds([build('x86_64')], noarch, [], 'x86_64')).toEqual([]);
    expect(newArchBuilds([build('aarch64')], noarch, [], 'aarch64')).toEqual([]);
  });

  it('withholds a build of a name installed as noarch in an arch other than the machine\'s: dnf could add it beside the upgraded one', () => {
    const noarch: InstalledPackage[] = [{ ...lib[0]!, arch: 'noarch' }];
    const found = newArchBuilds([build('x86_64'), build('i686')], noarch, [], 'x86_64');
    expect(found.map((b) => [b.spec, b.installedArches])).toEqual([['dom0-lib-0:2.0-1.i686', ['noarch']]]);
    // alone too: a noarch package becomes a 32-bit one only when the user names that arch
    expect(newArchBuilds([build('i686')], noarch, [], 'x86_64').map((b) => b.spec)).toEqual(['dom0-lib-0:2.0-1.i686']);
    expect(newArchBuilds([build('x86_64'), build('i686')], noarch, ['dom0-lib.i686'], 'x86_64')).toEqual([]);
    expect(newArchBuilds([build('x86_64'), build('i686')], noarch, ['dom0-lib'], 'x86_64').map((b) => b.spec)).toEqual(['dom0-lib-0:2.0-1.i686']);
  });

  it('leaves a new arch in only for a spec that selects it and no build of the name in another arch', () => {
    const cached = [build('i686'), build('x86_64')];
    expect(newArchBuilds(cached, lib, ['dom0-lib.i686'], 'x86_64')).toEqual([]);
    expect(newArchBuilds(cached, lib, ['dom0-lib-2.0-1.i686'], 'x86_64')).toEqual([]);
    for (const spec of ['dom0-lib', 'dom0-lib*', 'dom0-lib-2.0-1', 'dom0-lib.x86_64']) {
      expect([spec, newArchBuilds(cached, lib, [spec], 'x86_64').map((b) => b.spec)]).toEqual([spec, ['dom0-lib-0:2.0-1.i686']]);
    }
  });

  it('leaves an arch that one of several installed instances has', () => {
    const both: InstalledPackage[] = [...lib, { ...lib[0]!, arch: 'i686', instance: '8' }];
    expect(newArchBuilds([build('i686'), build('x86_64')], both, [], 'x86_64')).toEqual([]);
  });
});

describe('a line of rpm\'s description of a cached package', () => {
  const line = (name: string, ...obsoletes: string[]): string => [name, '0', '1.0', '1', 'noarch', '(none)|(none)', ...obsoletes].join('\t');
  const codeOf = (text: string): string | undefined => {
    try {
      parseCachedLine(text);
    } catch (error) {
      expect(error).toBeInstanceOf(InstallError);
      return (error as InstallError).code;
    }
    return undefined;
  };

  it('stops the run for a name dnf would read as a glob, which no exact pattern can withhold', () => {
    for (const name of ['dom0-*', 'dom0-?', 'dom0-[a]']) expect(codeOf(line(name)), name).toBe('CACHED_REPO_BAD_NAME');
    // a control: the same line with a plain name is read
    expect(codeOf(line('dom0-tool'))).toBeUndefined();
  });

  it('stops the run for an Obsoletes entry that rpm did not print as three fields (a tab inside it)', () => {
    expect(codeOf(line('dom0-tool', 'dom0-hello', '<', '2.0'))).toBeUndefined();
    expect(codeOf(line('dom0-tool', 'dom0-hello', '<', '2.0', 'extra'))).toBe('CACHED_REPO_BAD_NAME');
    expect(() => parseCachedLine(line('dom0-tool', 'dom0-hello', '<'))).toThrow("the cached repository's dom0-tool has an Obsoletes entry rpm cannot print as one field");
  });
});

describe('builds signed by a key KEYRING no longer pins', () => {
  const build = (name: string, signerKeyId: string | undefined): CachedPackage => ({ name, epoch: '0', version: '1.0', release: '1', arch: 'noarch', signerKeyId, obsoletes: [] });

  it('reads the signer\'s key ID from rpm\'s description of either header signature, as a key ID or a whole fingerprint', () => {
    const line = (signature: string): string => ['dom0-a', '0', '1.0', '1', 'noarch', signature].join('\t');
    expect(parseCachedLine(line('RSA/SHA512, Tue Jan  2 00:00:00 2024, Key ID 21ea589317b000dc|(none)')).signerKeyId).toBe('21ea589317b000dc');
    expect(parseCachedLine(line('(none)|EdDSA/SHA256, Tue Jan  2 00:00:00 2024, Key ID 837F02B24740D8EE')).signerKeyId).toBe('837f02b24740d8ee');
    expect(parseCachedLine(line('RSA/SHA256, Tue Jan  2 00:00:00 2024, Key ID 0123456789abcdef0123456789abcdef21ea589317b000dc|(none)')).signerKeyId).toBe('21ea589317b000dc');
    expect(parseCachedLine(line('(none)|(none)')).signerKeyId).toBeUndefined();
  });

  it('withholds each build whose signer is not pinned now, exactly, and keeps the others', () => {
    const cached = [build('dom0-a', KEY_ID), build('dom0-b', 'fedcba9876543210'), build('dom0-c', undefined)];
    expect(unpinnedBuilds(cached, new Set([KEY_ID]))).toEqual([
      { package: cached[1], spec: 'dom0-b-0:1.0-1.noarch', keyId: 'fedcba9876543210' },
      { package: cached[2], spec: 'dom0-c-0:1.0-1.noarch', keyId: 'none' },
    ]);
    expect(unpinnedBuilds(cached.slice(0, 1), new Set([KEY_ID]))).toEqual([]);
  });
});

describe('the cached repository\'s names', () => {
  it('come from the package headers, whatever the files are called', async () => {
    const f = await buildFixtures();
    const updatesDir = mkdtempSync(join(tmpdir(), 'dom0-cli-withheld-'));
    mkdirSync(join(updatesDir, 'repo'));
    for (const p of [...f.packages.v2, ...f.packages.obsoleting]) copyFileSync(p.path, join(updatesDir, 'repo', p.fileName));
    // A file name says nothing: the header does.
    const [ng] = f.packages.obsoleting;
    if (ng) copyFileSync(ng.path, join(updatesDir, 'repo', 'innocent-1.0-1.noarch.rpm'));
    expect(await listCachedRepoNames(pinPublishedRepo(updatesDir))).toEqual(['dom0-hello', 'dom0-hello-ng', 'dom0-libgreet', 'dom0-tool']);
    // and each header's Obsoletes with its range
    const read = (await readCachedRepo(pinPublishedRepo(updatesDir))).filter((p) => p.name === 'dom0-hello-ng');
    expect(read).toHaveLength(2);
    const keyId = (key: 'trusted-rsa' | 'trusted-ed25519'): string => f.keys[key].fingerprint.toLowerCase().slice(-16);
    expect(read[0]).toEqual({
      name: 'dom0-hello-ng',
      epoch: '0',
      version: '1.0',
      release: '1',
      arch: 'noarch',
      signerKeyId: keyId('trusted-rsa'),
      obsoletes: [{ name: 'dom0-hello', flags: '<', evr: '3.0' }],
    });
    // the signer's key ID from either kind of header signature
    const tool = (await readCachedRepo(pinPublishedRepo(updatesDir))).find((p) => p.name === 'dom0-tool');
    expect(tool?.signerKeyId).toBe(keyId('trusted-ed25519'));
  });

  it('are read from the generation the run pinned, not from whatever the link points to later', async () => {
    const f = await buildFixtures();
    const updatesDir = mkdtempSync(join(tmpdir(), 'dom0-cli-withheld-'));
    const first = join(updatesDir, 'generations', 'one');
    const second = join(updatesDir, 'generations', 'two');
    mkdirSync(first, { recursive: true });
    mkdirSync(second, { recursive: true });
    for (const p of f.packages.v2) copyFileSync(p.path, join(first, p.fileName));
    for (const p of [...f.packages.v2, ...f.packages.obsoleting]) copyFileSync(p.path, join(second, p.fileName));
    symlinkSync(join('generations', 'one'), join(updatesDir, 'repo'));
    const pinned = pinPublishedRepo(updatesDir);
    expect(pinned).toBe(realpathSync(first));
    // the receiver publishes a new generation between the listing and dnf
    renameSync(join(updatesDir, 'repo'), join(updatesDir, 'repo.old'));
    symlinkSync(join('generations', 'two'), join(updatesDir, 'repo'));
    expect(await listCachedRepoNames(pinned)).not.toContain('dom0-hello-ng');
    expect(cachedRepoDefinition(updatesDir, [], pinned)).toContain(`baseurl=file://${realpathSync(first)}\n`);
  });

  it('are read whatever characters the updates directory\'s path holds (rpm globs and expands its file arguments)', async () => {
    const f = await buildFixtures();
    for (const name of ['%{_arch}', 'a[1]', 'b{c,d}', 'e f,g$h']) {
      const updatesDir = mkdtempSync(join(tmpdir(), `dom0-cli-withheld-${name}-`));
      mkdirSync(join(updatesDir, 'repo'));
      for (const p of f.packages.v2) copyFileSync(p.path, join(updatesDir, 'repo', p.fileName));
      expect([name, await listCachedRepoNames(pinPublishedRepo(updatesDir))]).toEqual([name, ['dom0-hello', 'dom0-libgreet', 'dom0-tool']]);
      rmSync(updatesDir, { recursive: true, force: true });
    }
  });

  it('are none when nothing was ever published', async () => {
    expect(pinPublishedRepo(mkdtempSync(join(tmpdir(), 'dom0-cli-withheld-')))).toBeUndefined();
    expect(await listCachedRepoNames(undefined)).toEqual([]);
  });

  it('stop the run when a package\'s name holds a newline, which rpm prints as two lines', async () => {
    const f = await buildFixtures();
    const updatesDir = mkdtempSync(join(tmpdir(), 'dom0-cli-withheld-'));
    mkdirSync(join(updatesDir, 'repo'));
    const hello = f.packages.v2.find((p) => p.fileName.startsWith('dom0-hello-'));
    if (hello === undefined) throw new Error('no dom0-hello in the fixtures');
    // The header's NAME (its first copy of the name) becomes "dom0\nhello", the same length;
    // rpm reads the header as it is (the query skips digests and signatures).
    const bytes = readFileSync(hello.path);
    const at = bytes.indexOf(Buffer.from('dom0-hello\0'));
    expect(at).toBeGreaterThan(0);
    Buffer.from('dom0\nhello').copy(bytes, at);
    writeFileSync(join(updatesDir, 'repo', hello.fileName), bytes);
    const error = await readCachedRepo(pinPublishedRepo(updatesDir)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstallError);
    expect((error as InstallError).code).toBe('CACHED_REPO_BAD_NAME');
    expect((error as InstallError).message).toBe('rpm read 2 names from 1 packages in the cached repository');
  });
});

describe('dom0\'s dnf install step', () => {
  const config = resolveConfig([{ origin: 'file', settings: { KEYRING: ['/k'], DOM0_ROOT: ['/r'] } }]);
  const request = { reposDir: '/repos', assumeYes: true, extraOptions: [], mode: 'human' as const };

  it('turns obsoletes off for an upgrade', () => {
    const args = dom0DnfInstallArgs(config, request, 'upgrade', []);
    expect(args).toContain('--setopt=obsoletes=False');
    // the command word first, which dnf5 needs for a command's own options
    expect(args[0]).toBe('upgrade');
    expect(args).toContain('--setopt=gpgcheck=1');
  });

  it('withholds names and builds in the cached repository\'s own excludepkgs, not one argument each, however many there are', () => {
    expect(cachedRepoDefinition('/u', ['/k'], '/g', ['dom0-hello-ng', 'dom0-tool-2:3.0-1.noarch']).split('\n')).toContain('excludepkgs=dom0-hello-ng,dom0-tool-2:3.0-1.noarch');
    expect(cachedRepoDefinition('/u', ['/k'], '/g').split('\n').filter((line) => line.startsWith('excludepkgs'))).toEqual([]);
    const many = Array.from({ length: 50_000 }, (_, i) => `dom0-package-with-a-long-name-${String(i)}`);
    const lines = cachedRepoDefinition('/u', ['/k'], '/g', many).split('\n');
    expect(lines.filter((line) => line.startsWith('excludepkgs=')).map((line) => line.split(',').length)).toEqual([50_000]);
    expect(dom0DnfInstallArgs(config, request, 'upgrade', []).filter((arg) => arg.startsWith('--exclude'))).toEqual([]);
  });

  it('clears disable_excludes, so a dnf.conf cannot turn off the exclusions that withhold builds', () => {
    expect(dom0DnfInstallArgs(config, request, 'upgrade', [])).toContain('--setopt=disable_excludes=');
  });

  it('forces signature checks on for repository and local packages, each where dnf reads it', () => {
    // localpkg_gpgcheck is a [main] option: on the command line; gpgcheck in the repo file too.
    const args = dom0DnfInstallArgs(config, request, 'upgrade', []);
    expect(args).toContain('--setopt=gpgcheck=1');
    expect(args).toContain('--setopt=localpkg_gpgcheck=1');
    const repo = cachedRepoDefinition('/u', ['/k']).split('\n');
    expect(repo).toContain('gpgcheck=1');
    expect(repo.filter((line) => line.startsWith('localpkg_gpgcheck'))).toEqual([]);
  });

  it('puts a command\'s own options after the command word, where dnf5 takes them', () => {
    const args = dom0DnfInstallArgs(config, { ...request, assumeYes: false, extraOptions: ['--allowerasing', '--skip-broken'] }, 'upgrade', ['dom0-hello']);
    expect(args[0]).toBe('upgrade');
    expect(args.indexOf('--allowerasing')).toBeGreaterThan(0);
    expect(args.indexOf('--skip-broken')).toBeGreaterThan(0);
    expect(args.at(-1)).toBe('dom0-hello');
  });

  it('has dnf fail rather than skip the cached repository when it cannot be read, whatever dnf.conf says', () => {
    expect(cachedRepoDefinition('/u', ['/k']).split('\n')).toContain('skip_if_unavailable=False');
  });

  it('keeps dnf\'s obsoletes for named installs, where the user chose what comes in', () => {
    const args = dom0DnfInstallArgs(config, request, 'install', ['dom0-hello-ng']);
    expect(args).not.toContain('--setopt=obsoletes=False');
    expect(args[0]).toBe('install');
    expect(args.at(-1)).toBe('dom0-hello-ng');
  });

  it('installs with --best, as the UpdateVM resolved, unless the user chose', () => {
    expect(dom0DnfInstallArgs(config, request, 'install', ['dom0-hello'])).toContain('--best');
    expect(dom0DnfInstallArgs(config, request, 'upgrade', [])).not.toContain('--best');
    const nobest = dom0DnfInstallArgs(config, { ...request, extraOptions: ['--nobest'] }, 'install', ['dom0-hello']);
    expect(nobest).toContain('--nobest');
    expect(nobest).not.toContain('--best');
    const best = dom0DnfInstallArgs(config, { ...request, extraOptions: ['--best'] }, 'install', ['dom0-hello']);
    expect(best.filter((o) => o === '--best')).toHaveLength(1);
  });

  it('makes dnf ask before it erases, whatever dnf.conf says, with --allowerasing (never given with -y)', () => {
    const asking = dom0DnfInstallArgs(config, { ...request, assumeYes: false, extraOptions: ['--allowerasing'] }, 'upgrade', []);
    expect(asking).toContain('--setopt=assumeyes=False');
    expect(asking).not.toContain('-y');
    expect(dom0DnfInstallArgs(config, { ...request, assumeYes: false }, 'upgrade', [])).not.toContain('--setopt=assumeyes=False');
  });
});

const scratch = mkdtempSync(join(tmpdir(), 'withheld-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('the signer of a cached build', () => {
  it('reads no key ID from a signature whose key ID runs into other text', () => {
    const line = (signature: string): string => ['dom0-tool', '0', '2.0', '1', 'noarch', signature].join('\t');
    expect(parseCachedLine(line(`RSA/SHA256, Mon 01 Jan 2024, Key ID ${KEY_ID}`)).signerKeyId).toBe(KEY_ID);
    expect(parseCachedLine(line(`RSA/SHA256, Mon 01 Jan 2024, Key ID ${KEY_ID}|(none)`)).signerKeyId).toBe(KEY_ID);
    expect(parseCachedLine(line(`RSA/SHA256, Mon 01 Jan 2024, Key ID ${KEY_ID}z`)).signerKeyId).toBeUndefined();
    expect(parseCachedLine(line('RSA/SHA256, Mon 01 Jan 2024, Key ID 01234567')).signerKeyId).toBeUndefined();
    expect(parseCachedLine(line(`RSA/SHA256, Mon 01 Jan 2024, Key ID ${'0'.repeat(60)}${KEY_ID}`)).signerKeyId).toBeUndefined();
  });
});

describe('the cached repository as its files say', () => {
  it('reads only the .rpm files of a generation', async () => {
    const dir = join(scratch, 'generation');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.xrpm'), 'not a package');
    expect(await readCachedRepo(dir)).toEqual([]);
  });

  it("fails with CACHED_REPO_QUERY, rpm's reason, when rpm cannot read a package", async () => {
    const dir = join(scratch, 'broken-generation');
    mkdirSync(dir);
    writeFileSync(join(dir, 'dom0-tool-1.0-1.noarch.rpm'), 'not a package');
    await expect(readCachedRepo(dir)).rejects.toMatchObject({ code: 'CACHED_REPO_QUERY' });
  });
});

describe('builds withheld for their Obsoletes', () => {
  const installed: InstalledPackage[] = [
    { name: 'dom0-hello', arch: 'noarch', evr: '0:1.0-1', instance: '1' },
    { name: 'dom0-tool', arch: 'noarch', evr: '0:1.0-1', instance: '2' },
  ];

  it('does not withhold an update of a requested name for obsoleting older builds of its own name', () => {
    const cached = [cachedBuild('dom0-tool', '2.0'), cachedBuild('dom0-tool', '3.0', [{ name: 'dom0-tool', flags: '<', evr: '0:3.0' }])];
    expect(obsoletingBuilds(cached, installed, ['dom0-tool-2.0'])).toEqual([]);
  });

  it('withholds a build of an installed name that obsoletes a requested name no package has', () => {
    const cached = [cachedBuild('dom0-tool', '2.0', [{ name: 'dom0-new', flags: '', evr: '' }])];
    expect(obsoletingBuilds(cached, installed, ['dom0-new']).map((b) => [b.spec, b.replaces])).toEqual([['dom0-tool-0:2.0-1.noarch', ['the requested dom0-new']]]);
  });

  it('withholds a build of an installed name that obsoletes a name requested as name-version', () => {
    const cached = [cachedBuild('dom0-new', '1.0'), cachedBuild('dom0-tool', '2.0', [{ name: 'dom0-new', flags: '', evr: '' }])];
    expect(obsoletingBuilds(cached, installed, ['dom0-new-1.0']).map((b) => [b.spec, b.replaces])).toEqual([['dom0-tool-0:2.0-1.noarch', ['the requested dom0-new']]]);
  });

  it('withholds a build of an installed name that obsoletes a name a requested glob matches, though no package has it', () => {
    const cached = [cachedBuild('dom0-tool', '2.0', [{ name: 'dom0-new', flags: '', evr: '' }])];
    expect(obsoletingBuilds(cached, installed, ['dom0-n*']).map((b) => b.spec)).toEqual(['dom0-tool-0:2.0-1.noarch']);
  });

  it('matches an Obsoletes entry against installed names exactly, not as a prefix', () => {
    const cached = [cachedBuild('dom0-tool', '2.0', [{ name: 'dom0-hel', flags: '', evr: '' }])];
    expect(obsoletingBuilds(cached, installed, [])).toEqual([]);
  });

  it('calls a withheld build a rename only when its Obsoletes match an installed package', () => {
    const cached = [cachedBuild('dom0-hello-ng', '2.0', [{ name: 'dom0-hello', flags: '<', evr: '0:2.0' }]), cachedBuild('dom0-extra', '1.0', [{ name: 'dom0-gone', flags: '', evr: '' }])];
    expect(renamingBuilds(cached, installed, ['dom0-hello-ng', 'dom0-extra']).map((b) => [b.package.name, b.replaces])).toEqual([['dom0-hello-ng', ['the installed dom0-hello.noarch 1.0-1']]]);
  });
});

describe('builds withheld as rollbacks', () => {
  it('withholds an older build in another arch even when the same version is installed in this one', () => {
    // an install-only name kept in two versions: 1.0 noarch is older than the newest, 2.0
    const installed: InstalledPackage[] = [
      { name: 'kernel-tool', arch: 'x86_64', evr: '0:1.0-1', instance: '1' },
      { name: 'kernel-tool', arch: 'x86_64', evr: '0:2.0-1', instance: '2' },
    ];
    expect(olderBuilds([cachedBuild('kernel-tool', '1.0')], installed, 'upgrade', []).map((b) => b.spec)).toEqual(['kernel-tool-0:1.0-1.noarch']);
  });

  it('does not withhold a build of the installed version in another arch: it is no rollback', () => {
    const installed: InstalledPackage[] = [{ name: 'dom0-tool', arch: 'x86_64', evr: '0:1.0-1', instance: '1' }];
    expect(olderBuilds([cachedBuild('dom0-tool', '1.0')], installed, 'upgrade', [])).toEqual([]);
  });
});

describe('builds withheld as a new arch of an installed name', () => {
  it("withholds the machine's own arch of a name installed only in another arch that is not noarch", () => {
    const installed: InstalledPackage[] = [{ name: 'dom0-lib', arch: 'i686', evr: '0:1.0-1', instance: '1' }];
    expect(newArchBuilds([cachedBuild('dom0-lib', '2.0', [], 'x86_64')], installed, [], 'x86_64').map((b) => b.spec)).toEqual(['dom0-lib-0:2.0-1.x86_64']);
  });

  it('takes no consent from a spec that names the installed arch too, when the cache holds the new arch alone', () => {
    const installed: InstalledPackage[] = [{ name: 'dom0-lib', arch: 'x86_64', evr: '0:1.0-1', instance: '1' }];
    const cached = [cachedBuild('dom0-lib', '2.0', [], 'i686')];
    expect(newArchBuilds(cached, installed, ['dom0-lib'], 'x86_64').map((b) => b.spec)).toEqual(['dom0-lib-0:2.0-1.i686']);
    expect(newArchBuilds(cached, installed, ['dom0-lib.i686'], 'x86_64')).toEqual([]);
  });

  it('takes no consent from a spec that names another package', () => {
    const installed: InstalledPackage[] = [{ name: 'dom0-lib', arch: 'x86_64', evr: '0:1.0-1', instance: '1' }];
    const cached = [cachedBuild('dom0-lib', '2.0', [], 'i686'), cachedBuild('dom0-other', '1.0')];
    expect(newArchBuilds(cached, installed, ['dom0-other'], 'x86_64').map((b) => b.spec)).toEqual(['dom0-lib-0:2.0-1.i686']);
  });
});

describe('exact patterns of withheld builds', () => {
  it('refuses a cached package whose name starts with a dash', () => {
    expect(() => parseCachedLine(['-dom0-tool', '0', '2.0', '1', 'noarch', `Key ID ${KEY_ID}`].join('\t'))).toThrow(expect.objectContaining({ code: 'CACHED_REPO_BAD_NAME' }));
  });

  it('refuses a build whose epoch is empty: its pattern would not name one build', () => {
    const build = { ...cachedBuild('dom0-tool', '2.0'), epoch: '' };
    expect(() => unpinnedBuilds([build], new Set())).toThrow(expect.objectContaining({ code: 'CACHED_REPO_BAD_NAME' }));
  });
});
