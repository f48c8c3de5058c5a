import type { CachedPackage } from '../../src/withheld.ts';

/** The key ID the cached builds of unit tests are signed by. */
export const KEY_ID = '0123456789abcdef';

/** A cached build of release 1 and epoch 0, signed by KEY_ID. */
export const cachedBuild = (name: string, version: string, obsoletes: CachedPackage['obsoletes'] = [], arch = 'noarch'): CachedPackage => ({
  name,
  epoch: '0',
  version,
  release: '1',
  arch,
  signerKeyId: KEY_ID,
  obsoletes,
});
