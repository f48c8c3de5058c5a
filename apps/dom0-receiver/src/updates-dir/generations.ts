import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { GENERATIONS_DIR, generationSequence, type Layout } from './layout.ts';
import { sweep } from './remove-tree.ts';

/** The generation `repo` points at, or undefined when nothing was ever published. */
export async function currentGeneration(layout: Layout): Promise<string | undefined> {
  let target: string;
  try {
    target = await readlink(layout.repoLink);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EINVAL') throw new ConfigError('CONFIG_INVALID', `${layout.repoLink} exists but is not a symlink; move it away`);
    throw error;
  }
  const parts = target.split('/');
  const id = parts[1];
  if (parts.length !== 2 || parts[0] !== GENERATIONS_DIR || id === undefined || generationSequence(id) === undefined) {
    throw new ConfigError('CONFIG_INVALID', `${layout.repoLink} points at "${target}", not at ${GENERATIONS_DIR}/<id>`);
  }
  return id;
}

/**
 * The published generation and its directory, or undefined when nothing was ever published. A `repo`
 * left pointing at a generation that is gone (removed by hand, a damaged disk) is CONFIG_INVALID
 * with its remedy: publishing on top would silently drop every package dnf was offered before.
 */
export async function publishedGeneration(layout: Layout): Promise<{ readonly id: string; readonly dir: string } | undefined> {
  const current = await currentGeneration(layout);
  if (current === undefined) return undefined;
  const dir = join(layout.generations, current);
  if (!(await isDirectory(dir))) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${layout.repoLink} points at ${GENERATIONS_DIR}/${current}, which does not exist (or is not a directory); \`dom0-update --clean\` (\`dom0-receiver clean\`) publishes an empty repository in its place`,
    );
  }
  return { id: current, dir };
}

export async function listGenerations(layout: Layout): Promise<string[]> {
  try {
    return (await readdir(layout.generations)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export interface PruneOptions {
  /** false: drop the previous generation too (`clean`) */
  readonly keepPrevious?: boolean;
  /**
   * The generation `repo` pointed at before the switch this run made. Without it the newest one
   * older than the published one with its metadata written is taken (see newestComplete).
   */
  readonly previous?: string | undefined;
}

/**
 * Keeps the published generation and the previous one (readers that opened it just before a
 * switch can finish); removes older ones and any newer one a crash left half built (one that
 * cannot be removed is told and left: it is never published again). Returns the names removed.
 */
export async function pruneGenerations(layout: Layout, options: PruneOptions = {}): Promise<string[]> {
  const { keepPrevious = true } = options;
  const current = await currentGeneration(layout);
  const currentSeq = current === undefined ? undefined : generationSequence(current);
  const names = await listGenerations(layout);
  const older = names.filter((n) => {
    const seq = generationSequence(n);
    return seq !== undefined && currentSeq !== undefined && seq < currentSeq;
  });
  const keep = new Set<string>();
  if (current !== undefined) keep.add(current);
  const previous = options.previous !== undefined && older.includes(options.previous) ? options.previous : await newestComplete(layout, older);
  if (previous !== undefined && keepPrevious) keep.add(previous);
  const removed: string[] = [];
  for (const name of names) {
    if (!keep.has(name) && (await sweep(join(layout.generations, name), `${GENERATIONS_DIR}/${name}`))) removed.push(name);
  }
  return removed;
}

/**
 * The newest of `older` (sorted) with its metadata written, else the newest: a half-built
 * generation that could not be removed, left by a crash before createrepo_c ended, was never
 * published and is no reader's previous repository.
 */
async function newestComplete(layout: Layout, older: readonly string[]): Promise<string | undefined> {
  for (let i = older.length - 1; i >= 0; i -= 1) {
    const name = older[i];
    if (name === undefined) continue;
    try {
      if ((await lstat(join(layout.generations, name, 'repodata', 'repomd.xml'))).isFile()) return name;
    } catch {
      // no metadata: not a repository anyone read
    }
  }
  return older.at(-1);
}

/** Highest sequence any generation carries (crash leftovers included), 0 when none. */
export async function highestGenerationSequence(layout: Layout): Promise<number> {
  let max = 0;
  for (const name of await listGenerations(layout)) max = Math.max(max, generationSequence(name) ?? 0);
  return max;
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}
