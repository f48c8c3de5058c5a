import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.ts';
import { parseArgs } from '../src/options.ts';
import { buildRequest } from '../src/request.ts';

function request(...argv: string[]): ReturnType<typeof buildRequest> {
  const command = parseArgs(argv);
  if (command.kind !== 'run') throw new Error('expected run');
  return buildRequest(command.options);
}

describe('buildRequest', () => {
  it('gives the UpdateVM\'s dnf the configured release version, first among the dnf options', () => {
    const command = parseArgs(['--best']);
    if (command.kind !== 'run') throw new Error('expected run');
    expect(buildRequest(command.options, '4.2').dnfOptions).toEqual(['--releasever=4.2', '--best']);
    expect(buildRequest(command.options).dnfOptions).toEqual(['--best']);
  });

  it('builds an upgrade request by default', () => {
    expect(request()).toEqual({
      protocol: 'dom0-updates/1',
      action: 'upgrade',
      packages: [],
      enableRepos: [],
      disableRepos: [],
      clean: false,
      dnfOptions: [],
    });
  });

  it('carries check-only, names, repos, clean and dnf options as data', () => {
    expect(request('--check-only', '--clean', '--enablerepo=a', '--disablerepo=b', '--best', 'dom0-hello')).toEqual({
      protocol: 'dom0-updates/1',
      action: 'check-only',
      packages: ['dom0-hello'],
      enableRepos: ['a'],
      disableRepos: ['b'],
      clean: true,
      dnfOptions: ['--best'],
    });
  });

  it('uses install for named packages and the given action otherwise', () => {
    expect(request('dom0-tool').action).toBe('install');
    expect(request('--action=reinstall', 'dom0-tool').action).toBe('reinstall');
  });

  it('turns a request the protocol refuses into a usage error', () => {
    const many = Array.from({ length: 1025 }, (_, i) => `p${i}`);
    expect(() => request(...many)).toThrow(UsageError);
  });
});
