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

/** The error code, or 'ACCEPTED'. Anything but RpmVerifyError is a bug and propagates. */
export async function outcome(bytes: Uint8Array, keyring: Keyring, chunkSizes?: readonly number[], now = NOW): Promise<string> {
  try {
    await verifyBytes(bytes, keyring, chunkSizes, now);
    return 'ACCEPTED';
  } catch (err) {
    if (err instanceof RpmVerifyError) return err.code;
    throw err;
  }
}
