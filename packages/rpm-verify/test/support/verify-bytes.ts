import { RpmVerifyError } from '../../src/errors.ts';
import type { Keyring } from '../../src/pgp/keyring.ts';
import { createRpmVerifier, type VerifiedPackage } from '../../src/verifier.ts';

/** After every fixture signature (2024-01-02..05) and fixed, so results never depend on the clock. */
export const NOW = new Date('2025-06-01T00:00:00Z');

/** Feeds bytes in chunks of the given sizes (cycled); the whole buffer at once by default. */
export async function verifyBytes(bytes: Uint8Array, keyring: Keyring, chunkSizes: readonly number[] = [bytes.length || 1], now = NOW): Promise<VerifiedPackage> {
  const v = createRpmVerifier(keyring, { now }, 'test.rpm');
  let off = 0;
  let i = 0;
  while (off < bytes.length) {
    const n = Math.max(1, chunkSizes[i++ % chunkSizes.length] ?? 1);
    v.write(bytes.subarray(off, off + n));
    off += n;
  }
  return v.finish();
}

/** The error code of a synchronous check, or 'ACCEPTED'. Anything but RpmVerifyError is a bug and propagates. */
export function codeOfSync(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof RpmVerifyError) return err.code;
    throw err;
  }
  return 'ACCEPTED';
}

/** The error code a verification settles with, or 'ACCEPTED'. Anything but RpmVerifyError propagates. */
export async function codeOf(run: Promise<unknown>): Promise<string> {
  try {
    await run;
    return 'ACCEPTED';
  } catch (err) {
    if (err instanceof RpmVerifyError) return err.code;
    throw err;
  }
}

/** The error code, or 'ACCEPTED', for bytes fed in chunks of the given sizes. */
export function outcome(bytes: Uint8Array, keyring: Keyring, chunkSizes?: readonly number[], now = NOW): Promise<string> {
  return codeOf(verifyBytes(bytes, keyring, chunkSizes, now));
}
