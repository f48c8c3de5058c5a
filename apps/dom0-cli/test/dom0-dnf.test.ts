import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.ts';
import { dnfIsDnf5, dom0DnfBaseArgs, dom0DnfCleanArgs, dom0DnfInstallArgs } from '../src/dom0-dnf.ts';

const scratch = mkdtempSync(join(tmpdir(), 'dom0-dnf-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** A PATH directory whose `dnf` links to an executable of the given name, as Fedora installs it. */
function pathWithDnf(name: string, target: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, target), '#!/bin/sh\n');
  chmodSync(join(dir, target), 0o755);
  symlinkSync(target, join(dir, 'dnf'));
  return dir;
}

describe("dom0's dnf", () => {
  it('is taken for dnf5 when the dnf on PATH is a link to dnf5, and for dnf 4 when it links to dnf-3', () => {
    expect(dnfIsDnf5(pathWithDnf('fedora41', 'dnf5'))).toBe(true);
    expect(dnfIsDnf5(pathWithDnf('fedora37', 'dnf-3'))).toBe(false);
    // the first dnf on PATH decides, as it is the one run
    expect(dnfIsDnf5(`${join(scratch, 'fedora37')}:${join(scratch, 'fedora41')}`)).toBe(false);
    expect(dnfIsDnf5(join(scratch, 'nowhere'))).toBe(false);
  });

  const config = resolveConfig([{ origin: 'file', settings: { KEYRING: ['/k'], DOM0_ROOT: ['/r'] } }]);
  const request = { reposDir: '/repos', assumeYes: true, extraOptions: ['--skip-broken', '--verbose', '--nobest', '--exclude=kernel*'], mode: 'human' as const };

  it("gets dnf5's spellings with dnf5: --skip-broken as its setting (upgrade has no such option), no --verbose", () => {
    const args = dom0DnfInstallArgs(config, { ...request, dnf5: true }, 'upgrade', ['dom0-hello']);
    expect(args[0]).toBe('upgrade');
    expect(args).toContain('--no-plugins');
    expect(args).toContain('--setopt=skip_broken=True');
    expect(args).toContain('--no-best');
    expect(args).toContain('--exclude=kernel*');
    expect(args).not.toContain('--skip-broken');
    expect(args).not.toContain('--verbose');
    expect(args.at(-1)).toBe('dom0-hello');
  });

  it('gives clean all none of the options meant for a transaction, which dnf5 refuses there', () => {
    const args = dom0DnfCleanArgs(config, { ...request, extraOptions: ['--allowerasing', '--skip-broken'] });
    expect(args.slice(0, 2)).toEqual(['clean', 'all']);
    expect(args).toContain('--setopt=reposdir=/repos');
    expect(args).not.toContain('--allowerasing');
    expect(args).not.toContain('--skip-broken');
  });

  it("keeps dnf 4's spellings otherwise", () => {
    const args = dom0DnfBaseArgs(config, request);
    expect(args).toEqual(expect.arrayContaining(['--noplugins', '--skip-broken', '--verbose', '--nobest', '--exclude=kernel*']));
  });
});

describe("dom0's dnf command line", () => {
  const config = (root: string): ReturnType<typeof resolveConfig> => resolveConfig([{ origin: 'file', settings: { KEYRING: ['/k'], DOM0_ROOT: [root] } }]);
  const request = { reposDir: '/repos', assumeYes: true, extraOptions: [], mode: 'human' as const };

  it("points dnf at DOM0_ROOT with --installroot, and at no root but its own when DOM0_ROOT is /", () => {
    expect(dom0DnfBaseArgs(config('/srv/dom0'), request)).toContain('--installroot=/srv/dom0');
    expect(dom0DnfBaseArgs(config('/'), request).filter((a) => a.startsWith('--installroot'))).toEqual([]);
  });

  it('makes dnf quiet with -y in --silent and --json-progress modes, never without -y, where the user reads its summary before answering', () => {
    expect(dom0DnfBaseArgs(config('/'), { ...request, mode: 'silent' })).toContain('-q');
    expect(dom0DnfBaseArgs(config('/'), { ...request, mode: 'json' })).toContain('-q');
    expect(dom0DnfBaseArgs(config('/'), request)).not.toContain('-q');
    expect(dom0DnfBaseArgs(config('/'), request)).toContain('-y');
    expect(dom0DnfBaseArgs(config('/'), { ...request, assumeYes: false })).not.toContain('-y');
    for (const mode of ['silent', 'json'] as const) expect(dom0DnfBaseArgs(config('/'), { ...request, assumeYes: false, mode })).not.toContain('-q');
  });

  it('turns obsoletes off for an upgrade alone', () => {
    expect(dom0DnfInstallArgs(config('/'), request, 'upgrade', [])).toContain('--setopt=obsoletes=False');
    for (const action of ['install', 'reinstall', 'downgrade'] as const) expect(dom0DnfInstallArgs(config('/'), request, action, ['dom0-hello'])).not.toContain('--setopt=obsoletes=False');
  });
});

describe('whether dnf is dnf5', () => {
  it('takes only a link to a program named dnf5 for dnf5, not one whose name merely holds it', () => {
    expect(dnfIsDnf5(pathWithDnf('mydnf5', 'mydnf5'))).toBe(false);
    expect(dnfIsDnf5(pathWithDnf('dnf5', 'dnf5'))).toBe(true);
  });

  it('passes over a dnf that is not executable, as the shell would', () => {
    const dir = join(scratch, 'not-executable');
    mkdirSync(dir);
    writeFileSync(join(dir, 'dnf5'), '#!/bin/sh\n');
    chmodSync(join(dir, 'dnf5'), 0o644);
    symlinkSync('dnf5', join(dir, 'dnf'));
    expect(dnfIsDnf5(`${dir}${delimiter}${pathWithDnf('dnf4-after', 'dnf-3')}`)).toBe(false);
  });

  it('skips an empty PATH entry instead of looking in the working directory', () => {
    const cwd = pathWithDnf('cwd-dnf5', 'dnf5');
    const dnf4 = pathWithDnf('dnf4', 'dnf-3');
    const before = process.cwd();
    process.chdir(cwd);
    try {
      expect(dnfIsDnf5(`${delimiter}${dnf4}`)).toBe(false);
    } finally {
      process.chdir(before);
    }
  });
});
