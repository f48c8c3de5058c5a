import { readFile } from 'node:fs/promises';
import type { FixturePackage } from '@dom0-updates/fixtures';

export async function bytesOf(pkg: FixturePackage | undefined): Promise<Uint8Array> {
  if (pkg === undefined) throw new Error('fixture package missing');
  return new Uint8Array(await readFile(pkg.path));
}

/** A tar stream that must be rejected, the codes that fit the attack, and the flags to run it with. */
export interface StreamCase {
  title: string;
  stream: () => Uint8Array | Promise<Uint8Array>;
  expected: readonly string[];
  flags?: readonly string[];
}

/** A hostile package: built from fixtures, to be refused by `receive` and by `verify` alike. */
export interface RpmCase {
  title: string;
  build: () => Uint8Array | Promise<Uint8Array>;
  expected: readonly string[];
  /** Keyrings to pin instead of the two trusted keys. */
  keyrings?: () => string[];
}
