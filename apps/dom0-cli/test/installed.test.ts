import { describe, expect, it } from 'vitest';
import { diffInstalled, newerInstalled, parseInstalled } from '../src/installed.ts';

const list = (...lines: string[]): ReturnType<typeof parseInstalled> => parseInstalled(lines.join('\n'));

describe('diffInstalled', () => {
  it('reports upgrades, installs and removals, hiding a zero epoch', () => {
    const before = list('a\tnoarch\t0:1.0-1\t1', 'gone\tnoarch\t0:1-1\t1', 'same\tnoarch\t0:1-1\t1');
    const after = list('a\tnoarch\t0:2.0-1\t2', 'new\tx86_64\t1:3-1\t2', 'same\tnoarch\t0:1-1\t1');
    expect(diffInstalled(before, after)).toEqual([
      { kind: 'upgraded', name: 'a.noarch', from: '1.0-1', to: '2.0-1' },
      { kind: 'removed', name: 'gone.noarch', from: '1-1', to: undefined },
      { kind: 'installed', name: 'new.x86_64', from: undefined, to: '1:3-1' },
    ]);
  });

  it('calls a change to an older version a downgrade, whatever action was asked for', () => {
    expect(diffInstalled(list('a\tnoarch\t0:2-1\t1'), list('a\tnoarch\t0:1-1\t2'))[0]).toEqual({ kind: 'downgraded', name: 'a.noarch', from: '2-1', to: '1-1' });
    // by rpm's order, not by the text: 1.10 is newer than 1.9, a lower epoch is older
    expect(diffInstalled(list('a\tnoarch\t0:1.10-1\t1'), list('a\tnoarch\t0:1.9-1\t2'))[0]?.kind).toBe('downgraded');
    expect(diffInstalled(list('a\tnoarch\t1:1.0-1\t1'), list('a\tnoarch\t0:9.0-1\t2'))[0]?.kind).toBe('downgraded');
    expect(diffInstalled(list('a\tnoarch\t0:1.0~rc1-1\t1'), list('a\tnoarch\t0:1.0-1\t2'))[0]?.kind).toBe('upgraded');
  });

  it('sees a reinstall through the rpmdb header instance', () => {
    expect(diffInstalled(list('a\tnoarch\t0:2-1\t1'), list('a\tnoarch\t0:2-1\t7'))).toEqual([
      { kind: 'reinstalled', name: 'a.noarch', from: undefined, to: '2-1' },
    ]);
  });

  it('reports each version of an install-only package kept side by side', () => {
    const before = list('kernel\tx86_64\t0:1-1\t1');
    const after = list('kernel\tx86_64\t0:1-1\t1', 'kernel\tx86_64\t0:2-1\t2');
    expect(diffInstalled(before, after)).toEqual([{ kind: 'installed', name: 'kernel.x86_64', from: undefined, to: '2-1' }]);
  });

  it('reports a package that moved between noarch and an arch as one upgrade or downgrade under its new arch, not a removal and an install', () => {
    expect(diffInstalled(list('a\tnoarch\t0:1-1\t1'), list('a\tx86_64\t0:2-1\t2'))).toEqual([
      { kind: 'upgraded', name: 'a.x86_64', from: '1-1', to: '2-1', fromArch: 'noarch' },
    ]);
    expect(diffInstalled(list('a\tx86_64\t0:2-1\t1', 'b\tnoarch\t0:1-1\t1'), list('a\tnoarch\t0:1-1\t2', 'b\tnoarch\t0:1-1\t1'))).toEqual([
      { kind: 'downgraded', name: 'a.noarch', from: '2-1', to: '1-1', fromArch: 'x86_64' },
    ]);
  });

  it('reports a package that moved between noarch and an arch at the same version as reinstalled, not upgraded', () => {
    expect(diffInstalled(list('a\tnoarch\t0:1-1\t1'), list('a\tx86_64\t0:1-1\t2'))).toEqual([
      { kind: 'reinstalled', name: 'a.x86_64', from: '1-1', to: '1-1', fromArch: 'noarch' },
    ]);
    // equal in rpm's order, spelt differently
    expect(diffInstalled(list('a\tnoarch\t0:1.0-1\t1'), list('a\tx86_64\t0:1.00-1\t2'))).toEqual([
      { kind: 'reinstalled', name: 'a.x86_64', from: '1.0-1', to: '1.00-1', fromArch: 'noarch' },
    ]);
  });

  it('still reports a removal and an install for a move between two arches, or when several copies were installed', () => {
    // dnf does not update i686 to x86_64: two packages, each said
    expect(diffInstalled(list('a\ti686\t0:1-1\t1'), list('a\tx86_64\t0:2-1\t2'))).toEqual([
      { kind: 'removed', name: 'a.i686', from: '1-1', to: undefined },
      { kind: 'installed', name: 'a.x86_64', from: undefined, to: '2-1' },
    ]);
    expect(diffInstalled(list('a\tnoarch\t0:1-1\t1', 'a\ti686\t0:1-1\t1'), list('a\tx86_64\t0:2-1\t2'))).toEqual([
      { kind: 'removed', name: 'a.i686', from: '1-1', to: undefined },
      { kind: 'removed', name: 'a.noarch', from: '1-1', to: undefined },
      { kind: 'installed', name: 'a.x86_64', from: undefined, to: '2-1' },
    ]);
  });

  it('reports nothing when nothing changed', () => {
    const same = list('a\tnoarch\t0:1-1\t1');
    expect(diffInstalled(same, same)).toEqual([]);
  });
});

describe('newerInstalled', () => {
  it('finds the newest installed version of the same name, in an arch dnf would replace, that is newer, by rpm order', () => {
    const installed = list('kernel\tx86_64\t0:6.10-1\t1', 'kernel\tx86_64\t0:6.9-1\t2', 'kernel\ti686\t0:9-1\t3', 'other\tx86_64\t0:99-1\t4');
    expect(newerInstalled(installed, 'kernel', 'x86_64', '0:6.2-1')?.evr).toBe('0:6.10-1');
    expect(newerInstalled(installed, 'kernel', 'x86_64', '0:6.9-5')?.evr).toBe('0:6.10-1');
    // dnf replaces across noarch, never from one arch to another
    expect(newerInstalled(installed, 'kernel', 'noarch', '0:8-1')?.evr).toBe('0:9-1');
    expect(newerInstalled(list('tool\tx86_64\t0:2.0-1\t1'), 'tool', 'noarch', '0:1.0-1')?.arch).toBe('x86_64');
  });

  it('finds nothing for a version as new as or newer than every installed one', () => {
    const installed = list('a\tnoarch\t0:2.0-1\t1');
    expect(newerInstalled(installed, 'a', 'noarch', '0:2.0-1')).toBeUndefined();
    expect(newerInstalled(installed, 'a', 'noarch', '1:1.0-1')).toBeUndefined();
    expect(newerInstalled(installed, 'b', 'noarch', '0:1-1')).toBeUndefined();
  });
});
