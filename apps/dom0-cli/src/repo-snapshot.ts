/**
 * What dom0's dnf installs from: hard links to the files of the published generation, in a
 * directory of dom0-update's own under the updates dir. Pinning the generation is not enough:
 * the receiver keeps only the current generation and the one before, so an UpdateVM that has two
 * batches published while dnf runs would remove the files dnf reads, and an rpm transaction could
 * lose its packages midway. Links keep the files whatever the receiver prunes; generations never
 * change, so the links hold exactly the bytes that were verified.
 */
import { linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InstallError } from './errors.ts';
import { pinPublishedRepo } from './withheld.ts';

/** Snapshot directories in the updates dir: a name the receiver neither uses nor sweeps. */
export const SNAPSHOT_PREFIX = 'dom0-update-snapshot.';

/** A generation pruned while it was linked is tried again from the new one, this many times. */
const ATTEMPTS = 3;

export interface RepoSnapshot {
  readonly dir: string;
  /** Removes the snapshot (dnf has finished with it). */
  remove(): void;
}

const codeOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

function linkTree(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      mkdirSync(target, { mode: 0o755 });
      linkTree(source, target);
    } else if (entry.isFile()) {
      linkSync(source, target);
    } else {
      throw new InstallError('CACHED_REPO_QUERY', `the cached repository holds ${source}, which is neither a file nor a directory`);
    }
  }
}

/** Snapshots left by a run that was killed (dom0-update's lock is held: no other run uses one). */
function removeLeftovers(updatesDir: string): void {
  let names: string[];
  try {
    names = readdirSync(updatesDir);
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith(SNAPSHOT_PREFIX)) rmSync(join(updatesDir, name), { recursive: true, force: true });
}

/** The snapshot of the published generation; undefined when nothing was ever published. */
export function snapshotPublishedRepo(updatesDir: string): RepoSnapshot | undefined {
  removeLeftovers(updatesDir);
  for (let attempt = 1; ; attempt++) {
    const generation = pinPublishedRepo(updatesDir);
    if (generation === undefined) return undefined;
    let dir: string | undefined;
    try {
      dir = mkdtempSync(join(updatesDir, SNAPSHOT_PREFIX));
      linkTree(generation, dir);
      const made = dir;
      return { dir: made, remove: () => rmSync(made, { recursive: true, force: true }) };
    } catch (error) {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      if (error instanceof InstallError) throw error;
      // pruned under us by two publications in a row: the link names a newer generation now
      if (codeOf(error) === 'ENOENT' && attempt < ATTEMPTS) continue;
      throw new InstallError('CACHED_REPO_QUERY', `cannot snapshot the cached repository ${generation} for dnf: ${(error as Error).message}`);
    }
  }
}
