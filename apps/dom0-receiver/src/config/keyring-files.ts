import { loadKeyring, readKeyFile, RpmVerifyError, type Keyring } from '@dom0-updates/rpm-verify';
import { ConfigError } from '../errors.ts';

/** Reads dom0's pinned, ASCII-armored keys; these files are trusted configuration. */
export function readKeyringFiles(paths: readonly string[]): string[] {
  return paths.map((path) => {
    try {
      return readKeyFile(path);
    } catch (error) {
      if (!(error instanceof RpmVerifyError)) throw error;
      throw new ConfigError('KEYRING_UNREADABLE', `keyring ${path} ${error.reason}`);
    }
  });
}

/** Reads and parses the pinned keys; a bad key file is named by its path. */
export async function loadKeyringFiles(paths: readonly string[]): Promise<{ armored: string[]; keyring: Keyring }> {
  const armored = readKeyringFiles(paths);
  return { armored, keyring: await loadKeyring(armored, paths) };
}
