import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtures } from '@dom0-updates/fixtures';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../src/run.ts';
import { makeRevokedSubkeyKey, type RevokedSubkeyKey } from './support/revoked-subkey-key.ts';

/** An empty rpm database at the default RPMDB_PATH: dom0-update refuses a root without one. */
function initRpmdb(root: string): void {
  execFileSync('rpmdb', ['--root', root, '--dbpath', '/var/lib/rpm', '--initdb']);
}

let dirs: string[] = [];
const path = process.env['PATH'];
afterEach(() => {
  if (path === undefined) delete process.env['PATH'];
  else process.env['PATH'] = path;
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/**
 * Puts an `rpmkeys` first on PATH that refuses every import, as dom0's rpm would refuse a key file
 * the receiver takes if it were another version than the rpm 4.18 the receiver's parser follows
 * (that parser refuses everything rpm 4.18 itself is known to refuse, so no real file shows it).
 */
function refusingRpmkeys(dir: string): void {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'rpmkeys'), '#!/bin/sh\nfor last; do :; done\necho "error: $last: key 1 import failed." >&2\nexit 1\n', { mode: 0o755 });
  process.env['PATH'] = `${bin}:${path ?? ''}`;
}

async function capture(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {}, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('main in text mode', () => {
  it('prints a configuration error on stderr and nothing at all on stdout', async () => {
    const r = await capture(['--config=/nonexistent/dom0-update.conf', '--check-only']);
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toContain('[CONFIG_UNREADABLE]');
    expect(r.out).toEqual([]);
  });

  it('refuses a request the agent would refuse (too many packages) before taking the lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'config'), `TRANSPORT=local\nLOCK_FILE=${join(dir, 'lock')}\nUPDATES_DIR=${dir}\n`);
    const packages = Array.from({ length: 1025 }, (_, i) => `pkg${i}`);
    const r = await capture([`--config=${join(dir, 'config')}`, '--check-only', ...packages]);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toContain('request.packages: has more than 1024 items [USAGE_BAD_REQUEST]');
    expect(r.out).toEqual([]);
  });

  it('prints no empty line on stdout when the lock is held', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    const lockFile = join(dir, 'dom0-update.lock');
    writeFileSync(lockFile, `${process.pid}\n`);
    writeFileSync(join(dir, 'config'), `TRANSPORT=local\nLOCK_FILE=${lockFile}\nUPDATES_DIR=${dir}\n`);
    const r = await capture([`--config=${join(dir, 'config')}`, '--check-only']);
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toContain('[LOCK_HELD]');
    expect(r.out).toEqual(['Taking the dom0-update lock...']);
  });

  it('ends a bad flag value, found while resolving the configuration, with the usage hint and exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'config'), `TRANSPORT=local\nLOCK_FILE=${join(dir, 'lock')}\nUPDATES_DIR=${dir}\n`);
    const r = await capture([`--config=${join(dir, 'config')}`, '--check-only', '--updatevm=bad name']);
    expect(r.code).toBe(2);
    expect(r.err.at(-2)).toContain('[CONFIG_BAD_VM_NAME]');
    expect(r.err.at(-1)).toBe('Try "dom0-update --help".');
    expect(r.out).toEqual([]);
  });

  it('refuses a receiver setting on the command line when the receiver is the qrexec service', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    const lockFile = join(dir, 'dom0-update.lock');
    writeFileSync(join(dir, 'config'), `TRANSPORT=qrexec\nUPDATEVM=sys-net\nKEYRING=/k\nLOCK_FILE=${lockFile}\nUPDATES_DIR=${dir}\n`);
    const r = await capture([`--config=${join(dir, 'config')}`, '-y', '--keyring=/other.asc', `--updates-dir=${dir}/x`]);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toContain('--updates-dir, --keyring: with TRANSPORT=qrexec the receiver is the qubes.ReceiveUpdates service');
    expect(r.err.join('\n')).toContain('[CONFIG_NOT_FOR_QREXEC]');
    // refused before the lock and before any UpdateVM was asked
    expect(r.out).toEqual([]);
  });

  it('says plainly that qubes-prefs is missing when no UpdateVM is configured off Qubes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'config'), `TRANSPORT=qrexec\nLOCK_FILE=${join(dir, 'lock')}\nUPDATES_DIR=${dir}\n`);
    const r = await capture([`--config=${join(dir, 'config')}`, '--check-only']);
    expect(r.code).toBe(1);
    const text = r.err.join('\n');
    expect(text).toContain('"qubes-prefs updatevm" failed (qubes-prefs is not installed: not a Qubes dom0?)');
    expect(text).toContain('outside Qubes, set TRANSPORT=local and AGENT_COMMAND instead [UPDATEVM_UNKNOWN]');
    expect(text).not.toContain('\\x0a');
  });

  it('refuses a run that would receive packages without any KEYRING, before the lock, and lets --check-only go on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    const lockFile = join(dir, 'lock');
    writeFileSync(join(dir, 'config'), `TRANSPORT=local\nLOCK_FILE=${lockFile}\nUPDATES_DIR=${dir}\n`);
    for (const args of [['-y'], ['--downloadonly']]) {
      const r = await capture([`--config=${join(dir, 'config')}`, ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err.join('\n')).toContain('no KEYRING is configured: dom0 needs the pinned keys to verify packages [CONFIG_NO_KEYRING]');
      expect(r.out).toEqual([]);
    }
    // a check receives nothing: it goes on to the lock (held here, so it stops there)
    writeFileSync(lockFile, `${process.pid}\n`);
    const check = await capture([`--config=${join(dir, 'config')}`, '--check-only']);
    expect(check.err.join('\n')).not.toContain('CONFIG_NO_KEYRING');
    expect(check.err.join('\n')).toContain('[LOCK_HELD]');
  });

  it('says that the configuration file is missing when no KEYRING is configured for want of one', async () => {
    // this machine has no /etc/dom0-updates/config, as a fresh install has none
    expect(existsSync('/etc/dom0-updates/config')).toBe(false);
    const r = await capture(['-y']);
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toContain(
      'no KEYRING is configured: dom0 needs the pinned keys to verify packages (there is no configuration file at /etc/dom0-updates/config; deploy/README.md shows how to make one) [CONFIG_NO_KEYRING]',
    );
  });

  it('refuses a KEYRING file it cannot read before the UpdateVM is asked for anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    const missing = join(dir, 'missing.asc');
    writeFileSync(join(dir, 'config'), `TRANSPORT=local\nKEYRING=${missing}\nLOCK_FILE=${join(dir, 'lock')}\nUPDATES_DIR=${dir}\n`);
    const r = await capture([`--config=${join(dir, 'config')}`, '-y']);
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toContain(`KEYRING ${missing} cannot be read (ENOENT)`);
    expect(r.err.join('\n')).toContain('[CONFIG_KEYRING_UNREADABLE]');
    expect(r.out).toEqual([]);
  });

  it('refuses KEYRING files the receiver would refuse (a key twice, a weak key) before the UpdateVM is asked for anything', async () => {
    const f = await buildFixtures();
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    const rsa = f.keys['trusted-rsa'].publicKeyPath;
    const cases: [string[], string][] = [
      [[rsa, rsa], 'KEYRING_DUPLICATE'],
      [[rsa, f.keys['weak-rsa1024'].publicKeyPath], 'KEYRING_WEAK_KEY'],
    ];
    for (const [keys, code] of cases) {
      const lines = keys.map((k) => `KEYRING=${k}\n`).join('');
      writeFileSync(join(dir, 'config'), `TRANSPORT=local\n${lines}LOCK_FILE=${join(dir, 'lock')}\nUPDATES_DIR=${dir}\n`);
      const r = await capture([`--config=${join(dir, 'config')}`, '-y']);
      expect(r.code).toBe(1);
      expect(r.err.join('\n')).toContain(`the KEYRING files cannot be pinned (${code})`);
      expect(r.err.join('\n')).toContain('[CONFIG_KEYRING_INVALID]');
      expect(r.out).toEqual([]);
    }
  });

  describe('a KEYRING file rpm cannot import', () => {
    function setUp(): { dir: string; root: string; configWith: (key: string) => string } {
      const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
      dirs.push(dir);
      const root = join(dir, 'root');
      initRpmdb(root);
      // held by this process: a run that gets past the key checks stops at the lock
      const lockFile = join(dir, 'lock');
      writeFileSync(lockFile, `${process.pid}\n`);
      const configWith = (key: string): string => {
        const file = join(dir, 'config');
        writeFileSync(file, `TRANSPORT=local\nKEYRING=${key}\nDOM0_ROOT=${root}\nRPMDB_PATH=/var/lib/rpm\nLOCK_FILE=${lockFile}\nUPDATES_DIR=${dir}\n`);
        return file;
      };
      return { dir, root, configWith };
    }

    it('is refused by the receiver\'s own parser when it is a key with a revoked subkey as gpg exports it, even if dom0\'s rpm database holds the key', async () => {
      const { dir, root, configWith } = setUp();
      const keys: RevokedSubkeyKey = makeRevokedSubkeyKey(dir);
      execFileSync('rpmkeys', ['--root', root, '--dbpath', '/var/lib/rpm', '--import', keys.before]);
      for (const extra of [[], ['--downloadonly']]) {
        const r = await capture([`--config=${configWith(keys.after)}`, '-y', ...extra]);
        expect(r.code).toBe(1);
        const err = r.err.join('\n');
        expect(err).toContain(`the KEYRING files cannot be pinned (KEYRING_PARSE): key file ${keys.after}, armored block 1: rpm 4.18 would refuse to import it`);
        expect(err).toContain('[CONFIG_KEYRING_INVALID]');
        expect(err).not.toContain('[LOCK_HELD]');
      }
    });

    it("is refused before the UpdateVM is asked when only dom0's rpm refuses it and dom0's rpm database does not hold the key; taken once it does", async () => {
      const { dir, root, configWith } = setUp();
      const f = await buildFixtures();
      const key = f.keys['trusted-rsa'].publicKeyPath;
      const config = configWith(key);
      refusingRpmkeys(dir);
      const refused = await capture([`--config=${config}`, '-y']);
      expect(refused.code).toBe(1);
      expect(refused.out).toEqual([]);
      const err = refused.err.join('\n');
      expect(err).toContain(`rpm cannot import KEYRING ${key} (rpmkeys: error: ${key}: key 1 import failed.)`);
      expect(err).toContain("dom0's dnf checks signatures with rpm and would refuse every package that key signed");
      expect(err).toContain('[CONFIG_KEYRING_INVALID]');
      expect(err).not.toContain('[LOCK_HELD]');
      execFileSync('/usr/bin/rpmkeys', ['--root', root, '--dbpath', '/var/lib/rpm', '--import', key]);
      const taken = await capture([`--config=${config}`, '-y']);
      expect(taken.err.join('\n')).not.toContain('CONFIG_KEYRING_INVALID');
      expect(taken.err.join('\n')).toContain('[LOCK_HELD]');
    });
  });

  it('refuses a key file with blanks after its end line, which rpm 4.18 cannot import, by the receiver\'s own parser, --downloadonly too', async () => {
    const f = await buildFixtures();
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    const key = join(dir, 'trailing-blanks.asc');
    writeFileSync(key, `\n  ${readFileSync(f.keys['trusted-rsa'].publicKeyPath, 'utf8').trimEnd()}  \n`);
    writeFileSync(join(dir, 'config'), `TRANSPORT=local\nKEYRING=${key}\nLOCK_FILE=${join(dir, 'lock')}\nUPDATES_DIR=${dir}\n`);
    const r = await capture([`--config=${join(dir, 'config')}`, '-y', '--downloadonly']);
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toContain(`the KEYRING files cannot be pinned (KEYRING_PARSE): key file ${key}: armored block 1: text after its end line on the same line`);
    expect(r.err.join('\n')).toContain('[CONFIG_KEYRING_INVALID]');
  });

  it("lets through every key file the receiver accepts when only the install needs dom0's rpm to take it (--downloadonly)", async () => {
    const f = await buildFixtures();
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    const key = f.keys['trusted-rsa'].publicKeyPath;
    // a live lock holder ends the run right after the keyring check: LOCK_HELD means it passed
    const lockFile = join(dir, 'lock');
    writeFileSync(lockFile, `${process.pid}\n`);
    initRpmdb(join(dir, 'root'));
    writeFileSync(join(dir, 'config'), `TRANSPORT=local\nKEYRING=${key}\nDOM0_ROOT=${join(dir, 'root')}\nLOCK_FILE=${lockFile}\nUPDATES_DIR=${dir}\n`);
    refusingRpmkeys(dir);
    const r = await capture([`--config=${join(dir, 'config')}`, '-y', '--downloadonly']);
    expect(r.err.join('\n')).toContain('[LOCK_HELD]');
    // an install needs dom0's rpm to take the key too
    const install = await capture([`--config=${join(dir, 'config')}`, '-y']);
    expect(install.err.join('\n')).toContain(`rpm cannot import KEYRING ${key} (rpmkeys: error: ${key}: key 1 import failed.)`);
    expect(install.err.join('\n')).toContain('[CONFIG_KEYRING_INVALID]');
  });

  it('refuses a KEYRING file over 1 MiB, which the receiver would refuse, before the UpdateVM is asked for anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    const key = join(dir, 'huge.asc');
    writeFileSync(key, Buffer.alloc(1024 * 1024 + 1, 0x0a));
    writeFileSync(join(dir, 'config'), `TRANSPORT=local\nKEYRING=${key}\nLOCK_FILE=${join(dir, 'lock')}\nUPDATES_DIR=${dir}\n`);
    const r = await capture([`--config=${join(dir, 'config')}`, '-y']);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err.join('\n')).toContain(`KEYRING ${key} is larger than 1 MiB`);
    expect(r.err.join('\n')).toContain('[CONFIG_KEYRING_UNREADABLE]');
  });

  it('refuses a KEYRING that names a FIFO or a directory, as the receiver would, without waiting on the FIFO', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    const fifo = join(dir, 'key.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const [key, kind] of [[fifo, 'a FIFO'], [dir, 'a directory']] as const) {
      writeFileSync(join(dir, 'config'), `TRANSPORT=local\nKEYRING=${key}\nLOCK_FILE=${join(dir, 'lock')}\nUPDATES_DIR=${dir}\n`);
      const r = await capture([`--config=${join(dir, 'config')}`, '-y']);
      expect(r.code).toBe(1);
      expect(r.err.join('\n')).toContain(`KEYRING ${key} is not a regular file but ${kind}`);
      expect(r.err.join('\n')).toContain('[CONFIG_KEYRING_UNREADABLE]');
    }
  });

  it('refuses a KEYRING file that holds no armored public key before the UpdateVM is asked for anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-main-'));
    dirs.push(dir);
    const notKeys = [
      ['garbage.asc', 'not a key\n'],
      ['private.asc', '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n-----END PGP PRIVATE KEY BLOCK-----\n'],
      ['unterminated.asc', '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n'],
    ];
    for (const [name, text] of notKeys) {
      const key = join(dir, name ?? '');
      writeFileSync(key, text ?? '');
      writeFileSync(join(dir, 'config'), `TRANSPORT=local\nKEYRING=${key}\nLOCK_FILE=${join(dir, 'lock')}\nUPDATES_DIR=${dir}\n`);
      const r = await capture([`--config=${join(dir, 'config')}`, '-y']);
      expect(r.code).toBe(1);
      expect(r.err.join('\n')).toContain(`the KEYRING files cannot be pinned (KEYRING_PARSE): key file ${key}: `);
      expect(r.err.join('\n')).toContain('[CONFIG_KEYRING_INVALID]');
      expect(r.out).toEqual([]);
    }
  });
});
