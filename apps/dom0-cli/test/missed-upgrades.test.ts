import { describe, expect, it } from 'vitest';
import type { InstalledPackage } from '../src/installed.ts';
import { missedUpgrades } from '../src/missed-upgrades.ts';
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
