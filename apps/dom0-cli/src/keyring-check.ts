/**
 * The pinned keys, checked before the UpdateVM is asked for anything: a KEYRING the receiver
 * would refuse (unreadable, no key, a weak key, the same key twice) would otherwise be found only
 * after the whole download, by the receiver, on every batch. The same parser as the receiver's
 * (rpm-verify's loadKeyring), over dom0's own configuration files.
 */
import { loadKeyring, pinnedKeyIds, readKeyFile, RpmVerifyError } from '@dom0-updates/rpm-verify';
import { ConfigError } from './errors.ts';

const NEEDED = 'dom0 needs the pinned keys to verify packages';

/** The receiver's own reader (regular file, 1 MiB at most, a FIFO never waited on). */
function readKeyFileForCheck(keyFile: string): string {
  try {
    return readKeyFile(keyFile);
  } catch (error) {
    if (!(error instanceof RpmVerifyError)) throw error;
    throw new ConfigError('CONFIG_KEYRING_UNREADABLE', `KEYRING ${keyFile} ${error.reason}: ${NEEDED}`);
  }
}

/** Checks the pinned keys; returns the key IDs of every pinned key and subkey (see withheld.ts). */
export async function checkKeyring(keyFiles: readonly string[]): Promise<ReadonlySet<string>> {
  const texts = keyFiles.map(readKeyFileForCheck);
  // the receiver's verdict, not a guess at it: no pattern of our own in front
  try {
    return await pinnedKeyIds(await loadKeyring(texts, keyFiles));
  } catch (error) {
    if (!(error instanceof RpmVerifyError)) throw error;
    throw new ConfigError('CONFIG_KEYRING_INVALID', `the KEYRING files cannot be pinned (${error.code}): ${error.reason}; ${NEEDED}, and dom0's receiver would refuse every batch`);
  }
}
