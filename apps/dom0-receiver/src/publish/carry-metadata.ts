import { link, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { METADATA_FILE, REPOMD } from './repodata-check.ts';

const REPODATA = 'repodata';

/**
 * dnf reads `repo/repodata/repomd.xml` and then, by a second path through the `repo` link, the
 * files it names. A switch between the two opens would send the second one into the new
 * generation, where the old names do not exist. Hard links of the previous generation's metadata
 * files make those names resolve there too; they stay true, since the repository only grows (a
 * published file is never replaced). Only the files the previous repomd.xml names are carried,
 * so they do not pile up across generations. repomd.xml was written by our own createrepo_c run.
 */
export async function carryPreviousMetadata(previousDir: string, dir: string): Promise<number> {
  let repomd: string;
  try {
    repomd = await readFile(join(previousDir, REPODATA, REPOMD), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let carried = 0;
  for (const match of repomd.matchAll(/<location\s+href="repodata\/([^"]*)"/g)) {
    const name = match[1];
    if (name === undefined || name === REPOMD || !METADATA_FILE.test(name)) continue;
    try {
      await link(join(previousDir, REPODATA, name), join(dir, REPODATA, name));
      carried += 1;
    } catch (error) {
      // same name: createrepo_c names files by their checksum, so this one is the same file
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOENT') throw error;
    }
  }
  return carried;
}
