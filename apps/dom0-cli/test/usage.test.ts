import { describe, expect, it } from 'vitest';
import { DOM0_DNF_OPTIONS, parseArgs } from '../src/options.ts';
import { Reporter } from '../src/reporter.ts';
import { USAGE } from '../src/usage.ts';

/** The dnf options --help lists: the lines between the config flags and -h. */
function listedDnfOptions(): string[] {
  const block = USAGE.slice(USAGE.indexOf('  --best'), USAGE.indexOf('dnf options passed'));
  return block.split(/[\s,]+/).filter((word) => word.startsWith('--'));
}

describe('--help', () => {
  it('lists dnf options that the parser accepts, each in the form it accepts', () => {
    const listed = listedDnfOptions();
    expect(listed.length).toBeGreaterThanOrEqual(10);
    for (const option of listed) {
      const example = option.replace('=SPEC', '=dom0-extra').replace('=KEY=VALUE', '=retries=3');
      expect(parseArgs([example]).kind, example).toBe('run');
    }
    for (const option of DOM0_DNF_OPTIONS) expect(listed.some((l) => l.startsWith(option)), option).toBe(true);
    expect(USAGE).not.toContain('any other option is passed');
  });

  it('describes --silent as what silent mode does: warnings and errors still reach stderr', () => {
    expect(USAGE).toMatch(/--silent +print only warnings and errors/);
    const out: string[] = [];
    const err: string[] = [];
    const reporter = new Reporter('silent', { out: (l) => out.push(l), err: (l) => err.push(l) });
    reporter.info('info');
    reporter.warning('careful');
    reporter.error('SOME_CODE', 'broken');
    expect(out).toEqual([]);
    expect(err).toEqual(['dom0-update: warning: careful', 'dom0-update: error: broken [SOME_CODE]']);
  });
});
