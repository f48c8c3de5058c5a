import { describe, expect, it } from 'vitest';
import { isGlob, matchesSpec } from '../src/package-match.ts';

describe('matchesSpec', () => {
  it('matches a name, name-version and name.arch, never a longer name that starts the same', () => {
    expect(matchesSpec('dom0-tool', 'dom0-tool')).toBe(true);
    expect(matchesSpec('dom0-tool', 'dom0-tool-2.0-1')).toBe(true);
    expect(matchesSpec('dom0-tool', 'dom0-tool-1:2.0-1')).toBe(true);
    expect(matchesSpec('dom0-tool', 'dom0-tool.x86_64')).toBe(true);
    expect(matchesSpec('dom0', 'dom0-tool')).toBe(false);
    expect(matchesSpec('dom0-tool', 'dom0-tool-extra')).toBe(false);
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

describe('isGlob', () => {
  it('says a spec with *, ? or [ is a glob, and a plain one is not', () => {
    for (const spec of ['dom0-*', 'dom0-too?', 'dom0-extr[a]']) expect(isGlob(spec), spec).toBe(true);
    for (const spec of ['dom0-tool', 'dom0-tool-2.0-1.x86_64', 'libstdc++', 'a]']) expect(isGlob(spec), spec).toBe(false);
  });
});
