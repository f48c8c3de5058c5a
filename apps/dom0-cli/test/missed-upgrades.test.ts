import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dom0Exclusions, exclusionOf } from '../src/exclusions.ts';
import { reportInstallOutcome } from '../src/install-outcome.ts';
import { installedBuild, type InstalledPackage } from '../src/installed.ts';
import { cachedUpdates, missedUpgrades } from '../src/missed-upgrades.ts';
import { parseArgs } from '../src/options.ts';
import { PackageSpecs } from '../src/package-match.ts';
import { Reporter } from '../src/reporter.ts';
import type { ReceivedPackage, VerifiedBuild } from '../src/result-record.ts';

function received(name: string, epoch: number, version: string, release = '1', arch = 'noarch'): ReceivedPackage {
  const nevra = `${name}-${epoch === 0 ? '' : `${epoch}:`}${version}-${release}.${arch}`;
  return { file: `${nevra}.rpm`, name, epoch, version, release, arch, nevra, signer: 'f'.repeat(40) };
}

function installed(name: string, evr: string, arch = 'noarch'): InstalledPackage {
  return { name, arch, evr, instance: '1' };
}

describe('cached updates offered when no batch arrived', () => {
  it('are, per installed name and arch, the newest cached build newer than every installed one', () => {
    const updates = cachedUpdates(
      [
        received('hello', 0, '2.0'),
        received('hello', 0, '3.0'),
        received('hello', 0, '2.5'),
        received('tool', 0, '1.0'),
        received('tool', 0, '0.9'),
        received('lib', 1, '0.1'),
        received('new', 0, '1.0'),
      ],
      [installed('hello', '0:1.0-1'), installed('tool', '0:1.0-1'), installed('lib', '0:5.0-1')],
    );
    expect(updates.map((b) => b.nevra)).toEqual(['hello-3.0-1.noarch', 'lib-1:0.1-1.noarch']);
  });
});

describe('received updates dnf left out', () => {
  it('are the received packages rpm orders after every installed version of their name.arch', () => {
    const missed = missedUpgrades(
      [
        received('newer', 0, '1.10'),
        received('older', 0, '0.9'),
        received('same', 0, '1.0'),
        received('epoch', 1, '0.1'),
        received('kernel', 0, '6.2'),
        received('absent', 0, '9'),
      ],
      [
        installed('newer', '0:1.9-1'),
        installed('older', '0:1.0-1'),
        installed('same', '0:1.0-1'),
        installed('epoch', '0:5.0-1'),
        installed('kernel', '0:6.1-1'),
        installed('kernel', '0:6.3-1'),
      ],
    );
    expect(missed.map((m) => [m.received.name, m.installed])).toEqual([
      ['newer', '0:1.9-1'],
      ['epoch', '0:5.0-1'],
    ]);
  });

  it('cross noarch as dnf upgrades do (noarch to an arch and back), never one arch to another', () => {
    const missed = missedUpgrades(
      [received('becomes-arch', 0, '3.0', '1', 'x86_64'), received('becomes-noarch', 0, '3.0'), received('other-arch', 0, '3.0', '1', 'i686')],
      [installed('becomes-arch', '0:1.0-1'), installed('becomes-noarch', '0:1.0-1', 'x86_64'), installed('other-arch', '0:1.0-1', 'x86_64')],
    );
    expect(missed.map((m) => [m.received.nevra, m.installedArch, m.installed])).toEqual([
      ['becomes-arch-3.0-1.x86_64', 'noarch', '0:1.0-1'],
      ['becomes-noarch-3.0-1.noarch', 'x86_64', '0:1.0-1'],
    ]);
  });

  it('are none when nothing received is installed under its name', () => {
    expect(missedUpgrades([received('absent', 0, '1')], [installed('other', '0:1-1')])).toEqual([]);
  });

  it('compares any number of received packages', () => {
    const names = Array.from({ length: 100 }, (_, i) => `pkg${i}`);
    const missed = missedUpgrades(
      names.map((n, i) => received(n, 0, i % 2 === 0 ? '2.0' : '0.5')),
      names.map((n) => installed(n, '0:1.0-1')),
    );
    expect(missed.map((m) => m.received.name)).toEqual(names.filter((_, i) => i % 2 === 0));
  });
});

/** The specs as dnf reads them against these installed and received packages. */
function specsOf(installedPackages: readonly InstalledPackage[], sent: readonly ReceivedPackage[]): PackageSpecs {
  return new PackageSpecs(installedPackages.map(installedBuild), sent.map((p) => ({ ...p, epoch: String(p.epoch) })));
}

const NOT_EXCLUDED = (): undefined => undefined;

describe('a received package a newer build from the cache took the place of', () => {
  // a plain upgrade installed 2.0 from an earlier run's cached batch; this batch's honest 1.1,
  // newer than the 1.0 installed before, is neither unrequested nor a rollback
  it('is said as such, not called an attempted rollback', () => {
    const command = parseArgs(['-y']);
    if (command.kind !== 'run') throw new Error('not a run');
    const out: string[] = [];
    const err: string[] = [];
    const reporter = new Reporter('human', { out: (line) => out.push(line), err: (line) => err.push(line) });
    const before = installed('dom0-tool', '0:1.0-1');
    const after = { ...installed('dom0-tool', '0:2.0-1'), instance: '2' };
    const sent = received('dom0-tool', 0, '1.1');
    reportInstallOutcome(
      { options: command.options, reporter, dom0Root: '/', rpmdbPath: '/var/lib/rpm' },
      { installedBefore: [before], installedAfter: [after], received: [sent], fromCache: false, obsoleting: [], withheld: [], renaming: [], specs: specsOf([before], [sent]), excludedBy: NOT_EXCLUDED },
    );
    expect(err).toEqual([]);
    expect(out).toContain('Verified package dom0-tool-1.1-1.noarch was not installed: this run installed the newer 2.0-1 of dom0-tool.noarch.');
  });
});

describe('a requested package that was received but is not installed', () => {
  const warnings = (argv: string[]): string[] => {
    const command = parseArgs(argv);
    if (command.kind !== 'run') throw new Error('not a run');
    const err: string[] = [];
    const reporter = new Reporter('human', { out: () => undefined, err: (line) => err.push(line) });
    const hello = installed('dom0-hello', '0:2.0-1');
    const sent = received('dom0-hello', 0, '1.0');
    const code = reportInstallOutcome(
      { options: command.options, reporter, dom0Root: '/', rpmdbPath: '/var/lib/rpm' },
      { installedBefore: [hello], installedAfter: [hello], received: [sent], fromCache: false, obsoleting: [], withheld: [], renaming: [], specs: specsOf([hello], [sent]), excludedBy: NOT_EXCLUDED },
    );
    expect(code).toBe(0);
    return err;
  };

  it('is called an attempted rollback when it is older than the installed version', () => {
    expect(warnings(['dom0-hello'])).toEqual([
      'dom0-update: warning: requested package dom0-hello-1.0-1.noarch was received but is not installed (older than the installed 2.0-1: an attempted rollback)',
    ]);
  });

  it('is not called a rollback with --action=downgrade, where older is what was asked for', () => {
    expect(warnings(['--action=downgrade', 'dom0-hello'])).toEqual(['dom0-update: warning: requested package dom0-hello-1.0-1.noarch was received but is not installed']);
  });
});

describe('a verified update dnf left out with nothing else changed', () => {
  it('fails as INSTALL_NOTHING_DONE naming the causes, a failed scriptlet among them', () => {
    const command = parseArgs(['-y']);
    if (command.kind !== 'run') throw new Error('not a run');
    const reporter = new Reporter('human', { out: () => undefined, err: () => undefined });
    const tool = installed('dom0-tool', '0:1.0-1');
    const sent = received('dom0-tool', 0, '2.0');
    expect(() =>
      reportInstallOutcome(
        { options: command.options, reporter, dom0Root: '/', rpmdbPath: '/var/lib/rpm' },
        { installedBefore: [tool], installedAfter: [tool], received: [sent], fromCache: false, obsoleting: [], withheld: [], renaming: [], specs: specsOf([tool], [sent]), excludedBy: NOT_EXCLUDED },
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'INSTALL_NOTHING_DONE',
        message: expect.stringContaining("the UpdateVM did not send or dom0 withheld (see above; --best makes dnf say which), or a scriptlet of theirs failed (dnf's output above says)") as string,
      }),
    );
  });
});

describe('an older build in another arch than the installed one', () => {
  it('is an unrequested attempted rollback across noarch, not a build this run superseded', () => {
    const command = parseArgs(['-y']);
    if (command.kind !== 'run') throw new Error('not a run');
    const out: string[] = [];
    const err: string[] = [];
    const reporter = new Reporter('human', { out: (line) => out.push(line), err: (line) => err.push(line) });
    const tool = installed('dom0-tool', '0:2.0-1', 'x86_64');
    const sent = received('dom0-tool', 0, '1.0');
    reportInstallOutcome(
      { options: command.options, reporter, dom0Root: '/', rpmdbPath: '/var/lib/rpm' },
      { installedBefore: [tool], installedAfter: [tool], received: [sent], fromCache: false, obsoleting: [], withheld: [], renaming: [], specs: specsOf([tool], [sent]), excludedBy: NOT_EXCLUDED },
    );
    expect(out.join('\n')).not.toContain('this run installed the newer');
    expect(err.join('\n')).toContain('dom0-tool-1.0-1.noarch (older than the installed 2.0-1: an attempted rollback)');
  });
});

describe('a verified update dom0\'s dnf excludes', () => {
  const outcome = (argv: string[], dnfConf: readonly string[], dnfConfIncluded: readonly string[] = []): { code: number; out: string[]; err: string[] } => {
    const command = parseArgs(argv);
    if (command.kind !== 'run') throw new Error('not a run');
    const out: string[] = [];
    const err: string[] = [];
    const reporter = new Reporter('human', { out: (line) => out.push(line), err: (line) => err.push(line) });
    const tool = installed('dom0-tool', '0:1.0-1');
    const sent = received('dom0-tool', 0, '2.0');
    const exclusions = { ...dom0Exclusions(command.options, '/nonexistent/dnf.conf'), dnfConf, dnfConfIncluded, dnfConfPath: '/etc/dnf/dnf.conf' };
    const specs = specsOf([tool], [sent]);
    const code = reportInstallOutcome(
      { options: command.options, reporter, dom0Root: '/', rpmdbPath: '/var/lib/rpm' },
      { installedBefore: [tool], installedAfter: [tool], received: [sent], fromCache: false, obsoleting: [], withheld: [], renaming: [], specs, excludedBy: exclusionOf(exclusions, specs) },
    );
    return { code, out, err };
  };

  it('is not a missed update when dom0\'s dnf.conf excludes it, and says which file left it out', () => {
    const { code, out, err } = outcome(['-y'], ['dom0-t*']);
    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(out).toContain('Verified package dom0-tool-2.0-1.noarch was not installed: dom0\'s dnf leaves it out, as excludepkgs in /etc/dnf/dnf.conf excludes it.');
  });

  it('is not a missed update when the command line excludes it, and says so', () => {
    const { code, out } = outcome(['-y', '--exclude=dom0-tool'], []);
    expect(code).toBe(0);
    expect(out).toContain('Verified package dom0-tool-2.0-1.noarch was not installed: dom0\'s dnf leaves it out, as the command line excludes it.');
  });

  it('is still a missed update when the exclusions name another package', () => {
    expect(() => outcome(['-y', '--exclude=dom0-hello'], ['dom0-tool-extra'])).toThrow(expect.objectContaining({ code: 'INSTALL_NOTHING_DONE' }));
  });

  it('is still a missed update when the exclusions name another build of it (dnf excludes builds, not names)', () => {
    // the installed 1.0 by its version, another arch, another epoch: none is the 2.0 received
    for (const spec of ['dom0-tool-1.0-1', 'dom0-tool-1.0', '*.x86_64', 'dom0-tool.i686', 'dom0-tool-1:2.0-1.noarch']) {
      expect(() => outcome(['-y'], [spec]), spec).toThrow(expect.objectContaining({ code: 'INSTALL_NOTHING_DONE' }));
      // (--exclude= takes no leading glob)
      if (!spec.startsWith('*')) expect(() => outcome(['-y', `--exclude=${spec}`], []), spec).toThrow(expect.objectContaining({ code: 'INSTALL_NOTHING_DONE' }));
    }
    // and is left out when they name that very build, or its arch
    for (const spec of ['dom0-tool-2.0-1', 'dom0-tool-2.0', '*.noarch', 'dom0-tool-0:2.0-1.noarch']) expect(outcome(['-y'], [spec]).code, spec).toBe(0);
  });

  it('is not a missed update when dom0\'s dnf.conf includepkgs does not name it, and says so', () => {
    for (const spec of ['dom0-hello', 'dom0-tool-1.0', 'dom0-tool.x86_64']) {
      const { code, out, err } = outcome(['-y'], [], [spec]);
      expect([code, err], spec).toEqual([0, []]);
      expect(out, spec).toContain('Verified package dom0-tool-2.0-1.noarch was not installed: dom0\'s dnf leaves it out, as includepkgs in /etc/dnf/dnf.conf does not name it.');
    }
    // it is one when the inclusion names it, or that very build
    for (const spec of ['dom0-tool', 'dom0-t*', 'dom0-tool-2.0-1.noarch']) {
      expect(() => outcome(['-y'], [], ['dom0-hello', spec]), spec).toThrow(expect.objectContaining({ code: 'INSTALL_NOTHING_DONE' }));
    }
  });
});

describe("dom0's dnf.conf includepkgs", () => {
  const exclusionsOf = (text: string): ReturnType<typeof dom0Exclusions> => {
    const dir = mkdtempSync(join(tmpdir(), 'includepkgs-'));
    writeFileSync(join(dir, 'dnf.conf'), text);
    const command = parseArgs(['-y']);
    if (command.kind !== 'run') throw new Error('not a run');
    return dom0Exclusions(command.options, join(dir, 'dnf.conf'));
  };

  it('is read from the file, its last setting winning', () => {
    expect(exclusionsOf('[main]\nincludepkgs=a\nincludepkgs=dom0-* kernel\n').dnfConfIncluded).toEqual(['dom0-*', 'kernel']);
  });

  it('reads a $variable as it stands, as dnf 4 reads [main]: such an entry names no build, and the others still hold', () => {
    const exclusions = exclusionsOf('[main]\nincludepkgs=dom0-tool kernel*.$basearch\n');
    expect(exclusions.dnfConfIncluded).toEqual(['dom0-tool', 'kernel*.$basearch']);
    const kernel = received('kernel', 0, '6.3', '1', 'x86_64');
    const tool = received('dom0-tool', 0, '2.0');
    const excludedBy = exclusionOf(exclusions, specsOf([], [kernel, tool]));
    expect(excludedBy(tool)).toBeUndefined();
    expect(excludedBy(kernel)).toMatch(/^includepkgs in .* does not name it$/);
  });
});

describe('a package dnf removed', () => {
  const outcome = (argv: string[], before: InstalledPackage[], after: InstalledPackage[], sent: ReceivedPackage[]): string[] => {
    const command = parseArgs(argv);
    if (command.kind !== 'run') throw new Error('not a run');
    const err: string[] = [];
    const reporter = new Reporter('human', { out: () => undefined, err: (line) => err.push(line) });
    reportInstallOutcome(
      { options: command.options, reporter, dom0Root: '/', rpmdbPath: '/var/lib/rpm' },
      { installedBefore: before, installedAfter: after, received: sent, fromCache: false, obsoleting: [], withheld: [], renaming: [], specs: specsOf(before, sent), excludedBy: NOT_EXCLUDED },
    );
    return err;
  };

  it('is said in a warning when its name is gone and the command line did not name it', () => {
    const err = outcome(['-y', 'dom0-extra'], [installed('dom0-hello', '0:1.0-1')], [installed('dom0-extra', '0:1.0-1')], [received('dom0-extra', 0, '1.0')]);
    expect(err).toEqual([
      "dom0-update: warning: dom0's dnf removed dom0-hello.noarch 1.0-1, which the command line did not name: a package that came in replaced it through its Obsoletes: (dnf's output above says which)",
    ]);
  });

  it('with --allowerasing, says dnf may have removed it for a dependency', () => {
    const err = outcome(['--allowerasing', 'dom0-extra'], [installed('dom0-hello', '0:1.0-1')], [installed('dom0-extra', '0:1.0-1')], [received('dom0-extra', 0, '1.0')]);
    expect(err).toEqual([
      "dom0-update: warning: dom0's dnf removed dom0-hello.noarch 1.0-1, which the command line did not name: a package that came in replaced it through its Obsoletes:, or dnf removed it for a dependency (--allowerasing) (dnf's output above says which)",
    ]);
  });

  it('is not, when other builds of its name stay (a kernel past installonly_limit) or the command line named it', () => {
    const kernels = (...versions: string[]): InstalledPackage[] => versions.map((v) => ({ ...installed('kernel', `0:${v}-1`, 'x86_64'), instance: v }));
    expect(outcome(['-y'], kernels('6.1', '6.2'), kernels('6.2', '6.3'), [received('kernel', 0, '6.3', '1', 'x86_64')])).toEqual([]);
    expect(outcome(['-y', 'dom0-extra', 'dom0-hello'], [installed('dom0-hello', '0:1.0-1')], [installed('dom0-extra', '0:1.0-1')], [received('dom0-extra', 0, '1.0')])).toEqual([]);
  });
});

describe('cached updates offered when no batch arrived', () => {
  const verified = (name: string, version: string, arch: string): VerifiedBuild => ({ name, epoch: 0, version, release: '1', arch, nevra: `${name}-${version}-1.${arch}` });

  it('are one per installed name and arch, the newest, also when the cache holds it in two arches across noarch', () => {
    const installed: InstalledPackage[] = [{ name: 'hello', arch: 'noarch', evr: '0:1.0-1', instance: '1' }];
    const updates = cachedUpdates([verified('hello', '2.0', 'x86_64'), verified('hello', '3.0', 'noarch')], installed);
    expect(updates.map((b) => b.nevra)).toEqual(['hello-3.0-1.noarch']);
  });

  it('are one per arch of a name installed in two arches', () => {
    const installed: InstalledPackage[] = [
      { name: 'lib', arch: 'x86_64', evr: '0:1.0-1', instance: '1' },
      { name: 'lib', arch: 'i686', evr: '0:1.0-1', instance: '2' },
    ];
    const updates = cachedUpdates([verified('lib', '2.0', 'x86_64'), verified('lib', '2.0', 'i686')], installed);
    expect(updates.map((b) => b.nevra)).toEqual(['lib-2.0-1.x86_64', 'lib-2.0-1.i686']);
  });
});
