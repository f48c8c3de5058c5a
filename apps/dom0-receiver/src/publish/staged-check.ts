import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StageError } from '../errors.ts';
import type { AcceptedPackage } from './result-record.ts';

/**
 * The child is the less trusted side: before publishing, check that the staging dir holds
 * exactly the files it reported, each a regular file with one link and the reported size.
 */
export async function checkStagedFiles(stagingDir: string, accepted: readonly AcceptedPackage[]): Promise<void> {
  const expected = new Map(accepted.map((p) => [p.file, p]));
  if (expected.size !== accepted.length) throw new StageError('STAGED_FILES_MISMATCH', 'the stage reported a file twice');
  const names = await readdir(stagingDir);
  for (const name of names) {
    const pkg = expected.get(name);
    if (pkg === undefined) throw new StageError('STAGED_FILES_MISMATCH', `unreported file in the staging dir`, name);
    const st = await lstat(join(stagingDir, name));
    if (!st.isFile() || st.nlink !== 1 || st.size !== pkg.size) {
      throw new StageError('STAGED_FILES_MISMATCH', `staged file does not match what was verified`, name);
    }
  }
  if (names.length !== expected.size) throw new StageError('STAGED_FILES_MISMATCH', 'a reported file is missing from the staging dir');
}
