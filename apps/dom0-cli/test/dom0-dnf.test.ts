import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
