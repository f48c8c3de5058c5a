import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { foldCase } from '@dom0-updates/protocol';
import { PackageError } from '../errors.ts';
import type { AcceptedPackage } from './result-record.ts';

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * The published repository is append-only per file name (and so per NEVRA: names are checked to
 * be `<n>-<v>-<r>.<a>.rpm`). A package already published with the same bytes is a harmless resend
 * and is kept as it is; one with different bytes (another build of the same NEVRA) is refused,
 * since dnf could not tell the two apart and a sender could swap a package under a reader.
 * Returns the names already published with identical bytes.
 */
export async function checkAgainstPublished(generationDir: string | undefined, accepted: readonly AcceptedPackage[]): Promise<ReadonlySet<string>> {
  const same = new Set<string>();
  if (generationDir === undefined) return same;
  // A name that differs from a published one only in letter case is refused too, as the decoder
  // refuses such a pair within one batch: on a case-insensitive filesystem they are one file.
  // (a generation published before this rule may already hold several such names: a set each)
  const publishedByFolded = new Map<string, Set<string>>();
  for (const name of await readdir(generationDir)) {
    const folded = foldCase(name);
    publishedByFolded.set(folded, (publishedByFolded.get(folded) ?? new Set()).add(name));
  }
  for (const pkg of accepted) {
    const variants = publishedByFolded.get(foldCase(pkg.file));
    const twin = variants === undefined || variants.has(pkg.file) ? undefined : [...variants].sort()[0];
    if (twin !== undefined) {
      throw new PackageError(
        'RPM_CONFLICTS_PUBLISHED',
        `${pkg.file} differs only in letter case from the published ${twin}; on a case-insensitive filesystem they would be one file`,
        pkg.file,
      );
    }
    const path = join(generationDir, pkg.file);
    let size: number;
    try {
      const st = await lstat(path);
      if (!st.isFile()) throw new PackageError('RPM_CONFLICTS_PUBLISHED', `${pkg.file} exists in the published repository but is not a regular file`, pkg.file);
      size = st.size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    // only a name already published costs a read, and only when the sizes agree
    const published = size === pkg.size ? await sha256Of(path) : undefined;
    if (published !== pkg.sha256) {
      throw new PackageError(
        'RPM_CONFLICTS_PUBLISHED',
        `${pkg.nevraString} is already published as ${pkg.file} with different bytes (published: ${size} bytes${published === undefined ? '' : `, sha256 ${published}`}; received: ${pkg.size} bytes, sha256 ${pkg.sha256}); a published package is never replaced`,
        pkg.file,
      );
    }
    same.add(pkg.file);
  }
  return same;
}
