import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildFixtures, rpmkeysCheck } from '@dom0-updates/fixtures';
import type { FixtureSet } from '@dom0-updates/fixtures';
import { loadKeyring, type Keyring } from '../../src/pgp/keyring.ts';

export interface Loaded {
  set: FixtureSet;
  trusted: Keyring;
}

let loading: Promise<Loaded> | undefined;

/** Real packages from the shared fixture builder (cached on disk after the first build). */
export function fixtures(): Promise<Loaded> {
  loading ??= (async () => {
    const set = await buildFixtures();
    const trusted = await loadKeyring(await Promise.all(set.trustedKeyPaths.map((p) => readFile(p, 'utf8'))));
    return { set, trusted };
  })();
  return loading;
}

export async function keyringOf(paths: readonly string[]): Promise<Keyring> {
  return loadKeyring(await Promise.all(paths.map((p) => readFile(p, 'utf8'))));
}

/** rpm's own verdict on `bytes` (written as `name` under `dir`) at _pkgverify_level all, with the trusted keys. */
export async function rpmAccepts(dir: string, bytes: Uint8Array, name: string): Promise<boolean> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return (await rpmkeysCheck(path, (await fixtures()).set.trustedKeyPaths)).ok;
}
