import { createHash } from 'node:crypto';
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VerifiedPackage } from '@dom0-updates/rpm-verify';
import { TMP_PREFIX } from '../updates-dir/layout.ts';

/**
 * createrepo_c's `--cachedir` names each cached checksum `<file>-<key>-<installed size>-<mtime>`,
 * key = SHA-256 over the legacy signature blob (1002/1005) then the SHA1HEADER hex text, and reads
 * the file's content as the checksum. Pre-filling it with the SHA-256 the verifier computed over
 * the published bytes spares createrepo_c a second pass over every new package.
 */
export interface ChecksumCacheKey {
  /** lowercase hex SHA-256 of the verified header fields createrepo_c hashes */
  readonly key: string;
  readonly installedSize: number;
}

export interface ChecksumCacheEntry {
  readonly file: string;
  /** SHA-256 of the whole file, as verified */
  readonly sha256: string;
  readonly cacheKey: ChecksumCacheKey;
}

export function checksumCacheKey(fields: VerifiedPackage['cacheKeyFields']): ChecksumCacheKey | null {
  // rpm reads an odd SIZE differently from 0: no entry, createrepo_c then hashes the file itself
  if (fields.installedSize === null) return null;
  const hash = createHash('sha256');
  if (fields.legacySignature !== null) hash.update(fields.legacySignature);
  if (fields.sha1Header !== null) hash.update(fields.sha1Header, 'latin1');
  return { key: hash.digest('hex'), installedSize: fields.installedSize };
}

/**
 * Writes the entries into a new private directory under `scratchDir` and returns it (with the
 * trailing slash createrepo_c appends names to). A fresh directory per run holds nothing but
 * this batch's entries, so a stale or foreign entry cannot be found. The mtime in the name is read
 * from the published file itself (createrepo_c stats the same file).
 */
export async function writeChecksumCache(scratchDir: string, generationDir: string, entries: readonly ChecksumCacheEntry[]): Promise<string> {
  const dir = await mkdtemp(join(scratchDir, `${TMP_PREFIX}checksum-cache.`));
  try {
    for (const entry of entries) {
      const st = await lstat(join(generationDir, entry.file), { bigint: true });
      if (!st.isFile()) continue;
      // st_mtime in whole seconds, as createrepo_c formats it
      const mtime = st.mtimeNs >= 0n ? st.mtimeNs / 1_000_000_000n : -((-st.mtimeNs + 999_999_999n) / 1_000_000_000n);
      const name = `${entry.file}-${entry.cacheKey.key}-${String(entry.cacheKey.installedSize)}-${mtime.toString()}`;
      await writeFile(join(dir, name), entry.sha256, { flag: 'wx', mode: 0o600 });
    }
  } catch (error) {
    // a full disk: a rejected batch leaves the updates dir as it was, without a half-written cache
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return `${dir}/`;
}
