import { describe, expect, it } from 'vitest';
import { reportInstallOutcome } from '../src/install-outcome.ts';
import type { InstalledPackage } from '../src/installed.ts';
import { missedUpgrades } from '../src/missed-upgrades.ts';
import { parseArgs } from '../src/options.ts';
import { Reporter } from '../src/reporter.ts';
import type { ReceivedPackage } from '../src/result-record.ts';

function received(name: string, epoch: number, version: string, release = '1'): ReceivedPackage {
  const nevra = `${name}-${epoch === 0 ? '' : `${epoch}:`}${version}-${release}.noarch`;
  return { file: `${nevra}.rpm`, name, epoch, version, release, arch: 'noarch', nevra, signer: 'f'.repeat(40) };
}

function installed(name: string, evr: string): InstalledPackage {
  return { name, arch: 'noarch', evr, instance: '1' };
}

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

describe('a requested package that was received but is not installed', () => {
  const warnings = (argv: string[]): string[] => {
    const command = parseArgs(argv);
    if (command.kind !== 'run') throw new Error('not a run');
    const err: string[] = [];
    const reporter = new Reporter('human', { out: () => undefined, err: (line) => err.push(line) });
    const hello = installed('dom0-hello', '0:2.0-1');
    const code = reportInstallOutcome(
      { options: command.options, reporter, dom0Root: '/', rpmdbPath: '/var/lib/rpm' },
      { installedBefore: [hello], installedAfter: [hello], received: [received('dom0-hello', 0, '1.0')], obsoleting: [], withheld: [], renaming: [] },
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
