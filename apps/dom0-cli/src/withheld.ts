/**
 * The cached repository may hold validly signed packages nobody asked for: an UpdateVM can send
 * any package a pinned key signed, and generations carry earlier batches over. dom0's dnf must not
 * let those in as a side effect (an Obsoletes that replaces an installed package, a Provides that
 * poses as an upgrade). So every name in the cached repository that is neither installed in dom0
 * nor named on the command line is withheld from dnf with --exclude. A requested update that needs
 * a new dependency then fails to resolve instead of silently pulling in a new name; naming the new
 * package on the command line lets it in.
 */
import { readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { InstallError } from './errors.ts';
import type { InstalledPackage } from './installed.ts';
import { matchesSpec } from './package-match.ts';

/** Package names dnf can take as an exact --exclude pattern: no glob or other special characters. */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,254}$/;

/**
 * The published generation behind `<updatesDir>/repo`, resolved once. The names dom0 withholds and
 * the repository dnf reads must be the same snapshot: the receiver may publish a new generation at
 * any moment (an UpdateVM can call the service whenever it likes), and generations never change,
 * so dnf is pointed at this directory rather than at the `repo` link. Undefined when nothing was
 * ever published.
 */
export function pinPublishedRepo(updatesDir: string): string | undefined {
  try {
    return realpathSync(join(updatesDir, 'repo'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InstallError('CACHED_REPO_QUERY', `cannot resolve the cached repository ${join(updatesDir, 'repo')}: ${(error as Error).message}`);
  }
}

/** How many files one `rpm -qp` reads: the repository only grows, a command line does not. */
const QUERY_BATCH = 256;

/**
 * Names of the packages in a published generation, read from the headers of the files the
 * receiver verified and published (the same files dom0's createrepo_c indexed for dnf). Read from
 * the files, not through dnf, so no metadata cache can hide a package that just arrived.
 */
export async function listCachedRepoNames(repoDir: string | undefined): Promise<string[]> {
  if (repoDir === undefined) return [];
  let files: string[];
  try {
    files = readdirSync(repoDir).filter((f) => f.endsWith('.rpm')).map((f) => join(repoDir, f));
  } catch (error) {
    throw new InstallError('CACHED_REPO_QUERY', `cannot list the cached repository ${repoDir}: ${(error as Error).message}`);
  }
  const names = new Set<string>();
  for (let i = 0; i < files.length; i += QUERY_BATCH) {
    const batch = files.slice(i, i + QUERY_BATCH);
    // Signatures were checked by the receiver against the pinned keys; this rpm's own keyring is not dom0's.
    const result = await execa('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '%{NAME}\\n', ...batch], {
      reject: false,
      stdin: 'ignore',
    });
    if (result.failed) {
      const reason = (result.stderr.trim().split('\n')[0] ?? '') || (result.shortMessage ?? '');
      throw new InstallError('CACHED_REPO_QUERY', `cannot read the cached repository's package names: ${reason}`);
    }
    const lines = result.stdout.split('\n');
    if (lines.at(-1) === '') lines.pop();
    // One line per file: a name holding a newline would otherwise read as two names.
    if (lines.length !== batch.length) {
      throw new InstallError('CACHED_REPO_BAD_NAME', `rpm read ${lines.length} names from ${batch.length} packages in the cached repository`);
    }
    for (const name of lines) {
      if (!PLAIN_NAME.test(name)) {
        throw new InstallError(
          'CACHED_REPO_BAD_NAME',
          `the cached repository holds a package whose name cannot be withheld exactly: "${name.replace(/[^\x20-\x7e]/g, '?')}"`,
        );
      }
      names.add(name);
    }
  }
  return [...names].sort();
}

/** The names dnf must not see: in the cached repository, not installed, not requested. */
export function namesToWithhold(
  repoNames: readonly string[],
  installed: readonly InstalledPackage[],
  requested: readonly string[],
): string[] {
  const present = new Set(installed.map((p) => p.name));
  return repoNames.filter((name) => !present.has(name) && !requested.some((spec) => matchesSpec(name, spec)));
}
