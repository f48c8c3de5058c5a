import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { RpmVerifyError } from '../errors.ts';
import { fileKind } from '../file-kind.ts';

/** Cap on one armored key file: pinned keys are a few KiB; anything near this is a mistake. */
export const KEY_FILE_MAX_BYTES = 1024 * 1024;

/**
 * Reads one armored key file for `loadKeyring`: a regular file of at most 1 MiB. Opened
 * non-blocking, so a path that names a FIFO fails at once instead of waiting for a writer. The
 * reason (KEYRING_UNREADABLE) leaves the path to the caller: "cannot be read (ENOENT)".
 */
export function readKeyFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw new RpmVerifyError('KEYRING_UNREADABLE', `cannot be read (${errnoCode(error)})`);
  }
  try {
    let stat;
    try {
      stat = fstatSync(fd);
    } catch (error) {
      throw new RpmVerifyError('KEYRING_UNREADABLE', `cannot be read (${errnoCode(error)})`);
    }
    if (!stat.isFile()) throw new RpmVerifyError('KEYRING_UNREADABLE', `is not a regular file but ${fileKind(stat)}`);
    // one byte over the cap tells a file at the cap from a larger one without reading it all
    const buffer = Buffer.alloc(KEY_FILE_MAX_BYTES + 1);
    let length = 0;
    try {
      while (length < buffer.length) {
        const n = readSync(fd, buffer, length, buffer.length - length, null);
        if (n === 0) break;
        length += n;
      }
    } catch (error) {
      throw new RpmVerifyError('KEYRING_UNREADABLE', `cannot be read (${errnoCode(error)})`);
    }
    if (length > KEY_FILE_MAX_BYTES) throw new RpmVerifyError('KEYRING_UNREADABLE', 'is larger than 1 MiB');
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

function errnoCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'error';
}
