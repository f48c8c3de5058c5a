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

// GnuPG's armor line for `--export-secret-keys`; PGP 2 wrote SECRET
const PRIVATE_KEY_BLOCK = /^-----BEGIN PGP (?:PRIVATE|SECRET) KEY BLOCK-----/m;

/**
 * rpm-verify reads public key blocks only and calls any other block "text outside" one; a private
 * key given where the public one belongs is a likely mistake, so it is named as what it is.
 */
function refusePrivateKeyBlocks(armored: readonly string[], paths: readonly string[]): void {
  armored.forEach((text, index) => {
    if (PRIVATE_KEY_BLOCK.test(text)) {
      throw new RpmVerifyError('KEYRING_PARSE', `key file ${paths[index] ?? String(index)}: an armored private key block, not a public key; pin public keys only (gpg --export --armor)`);
    }
  });
}

/** Reads and parses the pinned keys; a bad key file is named by its path. */
export async function loadKeyringFiles(paths: readonly string[]): Promise<{ armored: string[]; keyring: Keyring }> {
  const armored = readKeyringFiles(paths);
  refusePrivateKeyBlocks(armored, paths);
  return { armored, keyring: await loadKeyring(armored, paths) };
}
