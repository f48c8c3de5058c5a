export { RpmVerifyError, type RpmErrorCode } from './errors.ts';
export { loadKeyring, pinnedKeyIds, type Keyring } from './pgp/keyring.ts';
export { KEY_FILE_MAX_BYTES, readKeyFile } from './pgp/key-file.ts';
export {
  createRpmVerifier,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_PACKAGE_BYTES,
  type DigestOffload,
  type OffloadedDigest,
  type RpmStreamVerifier,
  type VerifiedPackage,
  type VerifyOptions,
} from './verifier.ts';
export type { Nevra } from './header/main-header.ts';
export { verifyRpmFile } from './file.ts';
export { sanitizeText } from './sanitize.ts';
export { DigestWorker } from './digest/digest-worker.ts';
