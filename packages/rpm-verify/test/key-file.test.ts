import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_FILE_MAX_BYTES, readKeyFile, RpmVerifyError } from '../src/index.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'key-file-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(path: string): { code: string; reason: string } {
  try {
    readKeyFile(path);
  } catch (error) {
    expect(error).toBeInstanceOf(RpmVerifyError);
    const { code, reason } = error as RpmVerifyError;
    return { code, reason };
  }
  throw new Error(`${path} was read`);
}

describe('readKeyFile', () => {
  it('reads a key file whole, through a symlink too', () => {
    const file = join(dir, 'key.asc');
    writeFileSync(file, '-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n');
    symlinkSync(file, join(dir, 'link.asc'));
    expect(readKeyFile(file)).toBe('-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n');
    expect(readKeyFile(join(dir, 'link.asc'))).toBe(readKeyFile(file));
  });

  it('reads a file of exactly 1 MiB and refuses one byte more', () => {
    const full = join(dir, 'full.asc');
    writeFileSync(full, Buffer.alloc(KEY_FILE_MAX_BYTES, 0x61));
    expect(readKeyFile(full)).toHaveLength(KEY_FILE_MAX_BYTES);
    const over = join(dir, 'over.asc');
    writeFileSync(over, Buffer.alloc(KEY_FILE_MAX_BYTES + 1, 0x61));
    expect(refusal(over)).toEqual({ code: 'KEYRING_UNREADABLE', reason: 'is larger than 1 MiB' });
  });

  it('names the errno of a file it cannot open', () => {
    expect(refusal(join(dir, 'missing.asc'))).toEqual({ code: 'KEYRING_UNREADABLE', reason: 'cannot be read (ENOENT)' });
    expect(refusal(join(dir, 'missing-dir', 'key.asc')).reason).toBe('cannot be read (ENOENT)');
  });

  it('refuses a FIFO at once instead of waiting for a writer', () => {
    const fifo = join(dir, 'fifo.asc');
    execFileSync('mkfifo', [fifo]);
    expect(refusal(fifo)).toEqual({ code: 'KEYRING_UNREADABLE', reason: 'is not a regular file but a FIFO' });
  });

  it('refuses a directory and a character device', () => {
    const sub = join(dir, 'keys.d');
    mkdirSync(sub);
    expect(refusal(sub).reason).toBe('is not a regular file but a directory');
    expect(refusal('/dev/zero').reason).toBe('is not a regular file but a character device');
  });
});
