// dom0's dnf finds its one repository through a directory made under TMPDIR. A TMPDIR that is
// missing, or that holds a space or comma (dnf splits its reposdir setting there) or a % (rpm expands it), is refused
// before the UpdateVM is asked for anything (CONFIG_TMPDIR_UNUSABLE), not found by dnf after the
// whole download as "There are no enabled repositories".
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtures } from '@dom0-updates/fixtures';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.ts';
import { checkTempDir } from '../src/temp-dir-check.ts';
import { BUNDLES } from './support/build-bundles.ts';

let dir: string;
let config: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dom0-cli-temp-dir-'));
  const key = (await buildFixtures()).keys['trusted-rsa'].publicKeyPath;
  config = join(dir, 'dom0-update.conf');
  writeFileSync(config, ['TRANSPORT=local', `KEYRING=${key}`, `LOCK_FILE=${join(dir, 'lock')}`, `UPDATES_DIR=${join(dir, 'updates')}`, ''].join('\n'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function reasonOf(tempDir: string): string {
  try {
    checkTempDir(tempDir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG_TMPDIR_UNUSABLE');
    return (error as ConfigError).message;
  }
  return 'accepted';
}

describe('the temporary directory dom0-update installs through', () => {
  it('is refused when it holds a space, a tab or a comma, which dnf reads as separators', () => {
    for (const name of ['tmp dir', 'tmp\tdir', 'a,b']) {
      const path = join(dir, name);
      mkdirSync(path);
      expect(reasonOf(path)).toContain(`the temporary directory ${path} (TMPDIR) cannot be used: it holds a space or comma`);
    }
  });

  it('is refused when it holds a percent sign, which rpm would expand as a macro', () => {
    const path = join(dir, 'tmp%{_arch}');
    mkdirSync(path);
    expect(reasonOf(path)).toContain(`the temporary directory ${path} (TMPDIR) cannot be used: it holds a "%"`);
  });

  it('is refused when relative, even naming an existing directory: rpm and dnf would read it from elsewhere', () => {
    mkdirSync(join(dir, 'rel'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(reasonOf('rel')).toContain('the temporary directory rel (TMPDIR) cannot be used: it is not an absolute path');
    } finally {
      process.chdir(cwd);
    }
  });

  it('is refused when missing or not a directory, naming why', () => {
    expect(reasonOf(join(dir, 'missing'))).toContain('it does not exist (ENOENT)');
    writeFileSync(join(dir, 'plain'), '');
    expect(reasonOf(join(dir, 'plain'))).toContain('it is not a directory');
    expect(reasonOf(join(dir, 'plain', 'below'))).toContain('ENOTDIR');
  });

  it('is refused when it cannot be written, naming why (a read-only file system)', async () => {
    const mountPoint = mkdtempSync(join(dir, 'ro-'));
    // a private mount namespace (as root `unshare -m`, else `unshare -rm`) with a read-only tmpfs as TMPDIR
    const script = 'mount -t tmpfs -o ro tmpfs "$TMPDIR" && exec "$EXEC" "$CLI" --config="$CONF" -y';
    const r = await execa('unshare', [process.getuid?.() === 0 ? '-m' : '-rm', 'sh', '-c', script], {
      reject: false,
      stdin: 'ignore',
      env: { TMPDIR: mountPoint, EXEC: process.execPath, CLI: BUNDLES.cli, CONF: config },
    });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain(`the temporary directory ${mountPoint} (TMPDIR) cannot be used: it is not writable (EROFS)`);
    expect(r.stderr).toContain('[CONFIG_TMPDIR_UNUSABLE]');
    expect(r.stdout).toBe('');
  });

  it('is taken when it exists and can be written, `$` and non-ASCII letters included (a control for the checks above)', () => {
    for (const name of ['plain', '$x', 'dépôt']) mkdirSync(join(dir, `ok-${name}`));
    for (const name of ['plain', '$x', 'dépôt']) expect(reasonOf(join(dir, `ok-${name}`))).toBe('accepted');
  });

  it('is checked before the lock when the run would install, and not for --check-only or --downloadonly', async () => {
    const spaced = join(dir, 'with space');
    mkdirSync(spaced, { recursive: true });
    const cli = (args: string[]) => execa('node', [BUNDLES.cli, `--config=${config}`, ...args], { env: { TMPDIR: spaced }, reject: false, stdin: 'ignore' });
    const install = await cli(['-y']);
    expect(install.exitCode).toBe(1);
    expect(install.stdout).toBe('');
    expect(install.stderr).toContain('[CONFIG_TMPDIR_UNUSABLE]');
    for (const args of [['--check-only'], ['--downloadonly']]) {
      const other = await cli(args);
      expect(other.stderr).not.toContain('CONFIG_TMPDIR_UNUSABLE');
      expect(other.stdout.split('\n')[0]).toBe('Taking the dom0-update lock...');
    }
  });
});
