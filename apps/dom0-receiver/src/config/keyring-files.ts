import { readFile } from 'node:fs/promises';
import { loadKeyring, type Keyring } from '@dom0-updates/rpm-verify';
import { ConfigError } from '../errors.ts';

/** Cap on one armored key file: pinned keys are a few KiB; anything huge is a mistake. */
const MAX_KEY_FILE_BYTES = 1024 * 1024;

/** Reads dom0's pinned, ASCII-armored keys; these files are trusted configuration. */
export async function readKeyringFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new ConfigError('KEYRING_UNREADABLE', `cannot read keyring ${path}: ${(error as Error).message}`);
    }
    if (bytes.length > MAX_KEY_FILE_BYTES) throw new ConfigError('KEYRING_UNREADABLE', `keyring ${path} is larger than 1 MiB`);
    out.push(bytes.toString('utf8'));
  }
  return out;
}

/** Reads and parses the pinned keys; a bad key file is named by its path. */
export async function loadKeyringFiles(paths: readonly string[]): Promise<{ armored: string[]; keyring: Keyring }> {
  const armored = await readKeyringFiles(paths);
  return { armored, keyring: await loadKeyring(armored, paths) };
}
