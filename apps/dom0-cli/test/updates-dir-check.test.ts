// An UPDATES_DIR the receiver could not write is refused before the UpdateVM is asked for
// anything (CONFIG_UPDATES_DIR_UNUSABLE), not found by the receiver after the whole download.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtures } from '@dom0-updates/fixtures';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.ts';
import { main } from '../src/run.ts';
import { checkUpdatesDir } from '../src/updates-dir-check.ts';
import { BUNDLES, cliBundleForAnyUser } from './support/build-bundles.ts';

let dir: string;
let key: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dom0-cli-updates-dir-'));
  key = (await buildFixtures()).keys['trusted-rsa'].publicKeyPath;
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** dom0-update -y with the local transport; stdout stays empty until the lock is taken. */
function configFor(updatesDir: string, name: string): string {
  const config = join(dir, `${name}.conf`);
  writeFileSync(
    config,
    [
      'TRANSPORT=local',
      `KEYRING=${key}`,
      `LOCK_FILE=${join(dir, `${name}.lock`)}`,
      `UPDATES_DIR=${updatesDir}`,
      '',
    ].join('\n'),
  );
  return config;
}

async function run(updatesDir: string, name: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([`--config=${configFor(updatesDir, name)}`, '-y'], {}, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err: err.join('\n') };
}

describe('an unusable UPDATES_DIR', () => {
  it('under a regular file is refused before the lock is taken or the agent started', async () => {
    writeFileSync(join(dir, 'afile'), '');
    const r = await run(join(dir, 'afile', 'updates'), 'under-file');
    expect(r.code).toBe(1);
    expect(r.err).toContain(`UPDATES_DIR ${join(dir, 'afile', 'updates')} cannot be used: ENOTDIR on the way to it`);
    expect(r.err).toContain('[CONFIG_UPDATES_DIR_UNUSABLE]');
    expect(r.out).toEqual([]);
  });

  it('that is a regular file is refused, naming it', async () => {
    const file = join(dir, 'plainfile');
    writeFileSync(file, '');
    const r = await run(file, 'plain-file');
    expect(r.code).toBe(1);
    expect(r.err).toContain(`UPDATES_DIR ${file} cannot be used: ${file} is not a directory`);
    expect(r.out).toEqual([]);
  });

  it('on a read-only file system is refused naming EROFS, whether it exists or not', async () => {
    const mountPoint = mkdtempSync(join(dir, 'ro-'));
    for (const updatesDir of [mountPoint, join(mountPoint, 'qubes', 'updates')]) {
      const config = configFor(updatesDir, 'read-only');
      // a private mount namespace (as root `unshare -m`, else `unshare -rm`) with a read-only tmpfs
      const script = 'mount -t tmpfs -o ro tmpfs "$MP" && exec "$EXEC" "$CLI" --config="$CONF" -y';
      const r = await execa('unshare', [process.getuid?.() === 0 ? '-m' : '-rm', 'sh', '-c', script], {
        reject: false,
        env: { MP: mountPoint, EXEC: process.execPath, CLI: BUNDLES.cli, CONF: config },
      });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toContain(`UPDATES_DIR ${updatesDir} cannot be used: ${mountPoint} is not writable (EROFS: a read-only file system)`);
      expect(r.stderr).toContain('[CONFIG_UPDATES_DIR_UNUSABLE]');
      expect(r.stdout).toBe('');
    }
  });

  it('is not refused when usable: the run goes on to the lock (a control for the checks above)', async () => {
    const r = await run(join(dir, 'fresh', 'updates'), 'usable');
    expect(r.err).not.toContain('CONFIG_UPDATES_DIR_UNUSABLE');
    expect(r.out[0]).toBe('Taking the dom0-update lock...');
  });

  it('that dom0-update\'s user cannot write is refused with the local transport, where the receiver runs as that user', async () => {
    // A directory the user running dom0-update cannot write: as root, run dom0-update as nobody
    // against a directory root owns; otherwise, against a directory of ours without write permission.
    const asRoot = process.getuid?.() === 0;
    const parent = mkdtempSync(join(tmpdir(), 'dom0-cli-updates-dir-denied-'));
    const updatesDir = join(parent, 'updates');
    const keyFile = join(parent, 'key.asc');
    copyFileSync(key, keyFile);
    const conf = (transport: string): string => {
      const file = join(parent, `${transport}.conf`);
      writeFileSync(file, [`TRANSPORT=${transport}`, `KEYRING=${keyFile}`, `LOCK_FILE=${join(parent, 'lock')}`, `UPDATES_DIR=${updatesDir}`, ''].join('\n'));
      return file;
    };
    const [local, qrexec] = [conf('local'), conf('qrexec')];
    chmodSync(parent, asRoot ? 0o755 : 0o555);
    try {
      const bundle = asRoot ? cliBundleForAnyUser() : BUNDLES.cli;
      const cli = (config: string) => {
        const argv = [bundle, `--config=${config}`, '--downloadonly'];
        return asRoot
          ? execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...argv], { reject: false, stdin: 'ignore' })
          : execa(process.execPath, argv, { reject: false, stdin: 'ignore' });
      };
      const r = await cli(local);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toContain(`UPDATES_DIR ${updatesDir} cannot be used: ${parent} is not writable (EACCES)`);
      expect(r.stderr).toContain('[CONFIG_UPDATES_DIR_UNUSABLE]');
      expect(r.stdout).toBe('');
      // under qrexec the receiver is dom0's qrexec service, which may run as another user: not refused
      expect((await cli(qrexec)).stderr).not.toContain('CONFIG_UPDATES_DIR_UNUSABLE');
    } finally {
      chmodSync(parent, 0o700);
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('whose real path holds a `*`, which the receiver refuses, is refused before the agent is asked, directly or through a symlink, existing or not', async () => {
    const starred = join(dir, 'a*b');
    mkdirSync(starred);
    symlinkSync(starred, join(dir, 'plain-link'));
    for (const updatesDir of [join(starred, 'updates'), starred, join(dir, 'plain-link', 'updates'), join(dir, 'not*made', 'updates')]) {
      const r = await run(updatesDir, 'starred');
      expect([updatesDir, r.code]).toEqual([updatesDir, 1]);
      expect(r.err).toContain(`UPDATES_DIR ${updatesDir} cannot be used: its real path `);
      expect(r.err).toContain("contains '*', which the receiver refuses");
      expect(r.out).toEqual([]);
    }
  });

  it('that exists and is writable, or whose nearest existing parent is, passes', () => {
    expect(() => {
      checkUpdatesDir(dir, true);
      checkUpdatesDir(join(dir, 'not', 'yet', 'made'), true);
    }).not.toThrow();
  });

  it('is refused with its code whichever transport', () => {
    for (const asReceiver of [true, false]) {
      let caught: unknown;
      try {
        checkUpdatesDir(join(dir, 'afile', 'x'), asReceiver);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).code).toBe('CONFIG_UPDATES_DIR_UNUSABLE');
    }
  });
});
