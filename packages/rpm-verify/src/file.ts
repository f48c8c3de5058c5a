import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { RpmVerifyError } from './errors.ts';
import { fileKind } from './file-kind.ts';
import type { Keyring } from './pgp/keyring.ts';
import { createRpmVerifier, type VerifiedPackage, type VerifyOptions } from './verifier.ts';

const READ_CHUNK = 1024 * 1024;

/** Verifies a package on disk, reading each byte once through the streaming verifier. */
export async function verifyRpmFile(path: string, keyring: Keyring, options: VerifyOptions): Promise<VerifiedPackage> {
  const member = basename(path);
  const verifier = createRpmVerifier(keyring, options, member);
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO with no writer must not hang; it changes nothing for a regular file
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new RpmVerifyError('RPM_IO', `cannot open: ${err instanceof Error ? err.message : String(err)}`, member);
  }
  try {
    const kind = fileKind(await handle.stat());
    if (kind !== 'a regular file') throw new RpmVerifyError('RPM_IO', `not a regular file but ${kind}`, member);
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, READ_CHUNK, null));
      } catch (err) {
        throw new RpmVerifyError('RPM_IO', `read failed: ${err instanceof Error ? err.message : String(err)}`, member);
      }
      if (bytesRead === 0) break;
      // the verifier copies what it keeps (headers) and only hashes the rest, so the buffer is reusable
      verifier.write(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return verifier.finish();
}
