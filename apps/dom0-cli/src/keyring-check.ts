/**
 * The pinned keys, checked before the UpdateVM is asked for anything: a KEYRING the receiver
 * would refuse (unreadable, no key, a weak key, the same key twice) would otherwise be found only
 * after the whole download, by the receiver, on every batch. The same parser as the receiver's
 * (rpm-verify's loadKeyring), over dom0's own configuration files.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { loadKeyring, RpmVerifyError } from '@dom0-updates/rpm-verify';
import { ConfigError } from './errors.ts';

/** Larger than any key file: a KEYRING line that names something else is not read whole. */
const KEY_FILE_MAX_BYTES = 1024 * 1024;

const NEEDED = 'dom0 needs the pinned keys to verify packages';

function readKeyFile(keyFile: string): string {
  let bytes: Buffer;
  try {
    // O_NONBLOCK: a KEYRING that names a fifo fails here instead of waiting for a writer
    const fd = openSync(keyFile, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const buffer = Buffer.alloc(KEY_FILE_MAX_BYTES + 1);
      bytes = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError('CONFIG_KEYRING_UNREADABLE', `KEYRING ${keyFile} cannot be read (${code}): ${NEEDED}`);
  }
  // the receiver refuses a key file this large, so a check of its first MiB would be no check
  if (bytes.length > KEY_FILE_MAX_BYTES) {
    throw new ConfigError('CONFIG_KEYRING_UNREADABLE', `KEYRING ${keyFile} is larger than 1 MiB: ${NEEDED}, not this file`);
  }
  return bytes.toString('utf8');
}

export async function checkKeyring(keyFiles: readonly string[]): Promise<void> {
  const texts = keyFiles.map(readKeyFile);
  // the receiver's verdict, not a guess at it: no pattern of our own in front
  try {
    await loadKeyring(texts, keyFiles);
  } catch (error) {
    if (!(error instanceof RpmVerifyError)) throw error;
    throw new ConfigError('CONFIG_KEYRING_INVALID', `the KEYRING files cannot be pinned (${error.code}): ${error.reason}; ${NEEDED}, and dom0's receiver would refuse every batch`);
  }
}
