import { readFile } from 'node:fs/promises';
import { buildFixtures } from '@dom0-updates/fixtures';
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
