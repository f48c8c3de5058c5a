import { describe, expect, it } from 'vitest';
import { duplicatesWarning, groupsOfTwoOrMore } from '../src/duplicates.ts';
import { parseInstalled } from '../src/installed.ts';

describe('packages installed twice', () => {
  it('groups name.arch installed more than once, leaving out rpm\'s gpg-pubkey pseudo-packages and single installs', () => {
    const installed = parseInstalled(['a\tnoarch\t0:1-1\t1', 'a\tnoarch\t0:2-1\t2', 'a\tx86_64\t0:2-1\t3', 'gpg-pubkey\t(none)\t0:aa-1\t4', 'gpg-pubkey\t(none)\t0:bb-1\t5'].join('\n'));
    expect([...groupsOfTwoOrMore(installed).keys()]).toEqual(['a.noarch']);
  });

  it('names up to five packages with their versions and says how many more, and the command that mends it', () => {
    const many = Array.from({ length: 7 }, (_, i) => ({ key: `p${String(i)}.noarch`, versions: ['1-1', '2-1'] }));
    const text = duplicatesWarning({ packages: many, installOnlyUnknown: false });
    expect(text).toContain('p0.noarch (1-1, 2-1), p1.noarch (1-1, 2-1), p2.noarch (1-1, 2-1), p3.noarch (1-1, 2-1), p4.noarch (1-1, 2-1), and 2 more');
    expect(text).not.toContain('p5.noarch');
    expect(text).toContain('`dnf remove --duplicates` in dom0');
    expect(text).not.toContain('install-only');
    // where rpm could not tell install-only packages apart, the warning says so
    expect(duplicatesWarning({ packages: [{ key: 'kernel.x86_64', versions: ['6.1-1', '6.2-1'] }], installOnlyUnknown: true })).toContain('(rpm could not be asked which are install-only, such as kernels, which are kept side by side on purpose)');
  });
});
