import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A byte-for-byte picture of what dom0's dnf would read: where `repo` points, and every entry of
 * the tree behind it (type, mode, size, SHA-256), plus the generation names on disk.
 */
export interface RepoState {
  repoLink: string;
  tree: Record<string, string>;
  generations: string[];
}

async function walk(root: string, rel: string, out: Record<string, string>): Promise<void> {
  const path = rel === '' ? root : join(root, rel);
  const st = await lstat(path);
  const mode = (st.mode & 0o7777).toString(8);
  if (st.isSymbolicLink()) {
    out[rel] = `symlink ${await readlink(path)}`;
  } else if (st.isDirectory()) {
    out[rel] = `dir ${mode}`;
    const names = (await readdir(path)).sort();
    for (const name of names) await walk(root, rel === '' ? name : join(rel, name), out);
  } else if (st.isFile()) {
    const digest = createHash('sha256').update(await readFile(path)).digest('hex');
    out[rel] = `file ${mode} ${st.size} ${digest}`;
  } else {
    out[rel] = `other ${st.mode.toString(8)}`;
  }
}

export async function captureRepoState(updatesDir: string): Promise<RepoState> {
  const repoLink = await readlink(join(updatesDir, 'repo'));
  const tree: Record<string, string> = {};
  await walk(join(updatesDir, 'repo'), '', tree);
  // walk() starts at the link itself via lstat; follow it for the published tree.
  delete tree[''];
  await walk(join(updatesDir, repoLink), '', tree);
  const generations = (await readdir(join(updatesDir, 'generations'))).sort();
  return { repoLink, tree, generations };
}

/** Leftovers a failed run must not leave behind (staging dirs, temp files). */
export async function leftovers(updatesDir: string): Promise<string[]> {
  const names = await readdir(updatesDir);
  return names.filter((n) => n.startsWith('staging.') || n.startsWith('.tmp') || n.endsWith('.tmp')).sort();
}
