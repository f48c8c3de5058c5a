// Taking the staging dir back must never change a file outside it: a compromised stage may plant
// a hard link or a symlink to one before it is killed.
import { chmodSync, chownSync, linkSync, lstatSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { removeStagingDir, sealStagingDir } from '../src/updates-dir/staging.ts';

/** A staging dir the stage's uid (4321) owns, and a file outside it owned by another user (1234) with `mode`. */
function stagingWithOutsideFile(outsideName: string, mode: number): { staging: string; outside: string } {
  const base = mkdtempSync(join(tmpdir(), 'dom0-receiver-seal-'));
  const outside = join(base, outsideName);
  writeFileSync(outside, 'not the stage\'s');
  chownSync(outside, 1234, 1234);
  chmodSync(outside, mode);
  const staging = mkdtempSync(join(base, 'staging.'));
  chownSync(staging, 4321, 4321);
  return { staging, outside };
}

describe.runIf(process.getuid?.() === 0)('sealing the staging dir (root)', () => {
  it('re-owns single-link files and leaves links to outside files untouched', async () => {
    const { staging, outside } = stagingWithOutsideFile('outside-secret', 0o4755);
    const good = join(staging, 'good-1.0-1.noarch.rpm');
    writeFileSync(good, 'x');
    chownSync(good, 4321, 4321);
    chmodSync(good, 0o666);
    linkSync(outside, join(staging, 'hard-1.0-1.noarch.rpm'));
    symlinkSync(outside, join(staging, 'soft-1.0-1.noarch.rpm'));

    await sealStagingDir(staging);

    const dir = statSync(staging);
    expect([dir.uid, dir.mode & 0o777]).toEqual([0, 0o700]);
    const sealed = statSync(good);
    expect([sealed.uid, sealed.gid, sealed.mode & 0o7777]).toEqual([0, 0, 0o644]);
    const untouched = statSync(outside);
    expect([untouched.uid, untouched.gid, untouched.mode & 0o7777]).toEqual([1234, 1234, 0o4755]);
    expect(lstatSync(join(staging, 'soft-1.0-1.noarch.rpm')).isSymbolicLink()).toBe(true);
  });

  it('never follows a symlink to an outside file that has a single link', async () => {
    const { staging, outside } = stagingWithOutsideFile('outside-only-link', 0o600);
    symlinkSync(outside, join(staging, 'soft-1.0-1.noarch.rpm'));

    await sealStagingDir(staging);

    const untouched = statSync(outside);
    expect([untouched.uid, untouched.gid, untouched.mode & 0o7777]).toEqual([1234, 1234, 0o600]);
  });

  it('takes the staging dir back to 0700 whatever mode the stage gave it', async () => {
    const { staging } = stagingWithOutsideFile('unused', 0o600);
    // a compromised stage opening its dir to other local accounts before it is killed
    chmodSync(staging, 0o777);

    await sealStagingDir(staging);

    const dir = statSync(staging);
    expect([dir.uid, dir.gid, dir.mode & 0o7777]).toEqual([0, 0, 0o700]);
  });
});

describe('removing the staging dir', () => {
  it('removes it with everything in it', async () => {
    const staging = mkdtempSync(join(tmpdir(), 'dom0-receiver-remove-'));
    writeFileSync(join(staging, 'a-1.0-1.noarch.rpm'), 'x');
    await removeStagingDir(staging);
    expect(() => lstatSync(staging)).toThrow(expect.objectContaining({ code: 'ENOENT' }) as Error);
  });

  it('tells a failed removal on stderr instead of throwing, so the batch\'s own outcome stands', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      // a path no one can remove: what rm meets on a file system that went read-only or dead
      await expect(removeStagingDir('/proc/self/status')).resolves.toBeUndefined();
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toMatch(/^dom0-receiver: could not remove \/proc\/self\/status \([A-Z]+\); the next receive removes it\n$/);
  });
});
