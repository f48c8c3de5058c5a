/**
 * The definition of the one repository dom0's dnf may use: the receiver's published, verified
 * cache. Signatures are checked again by dnf against the pinned keys (gpgcheck); repository
 * metadata is dom0's own (createrepo_c ran in dom0), so repo_gpgcheck stays off.
 */
import { join } from 'node:path';
import { writeRunTempFile } from './run-temp-dirs.ts';

const CACHED_REPO_ID = 'dom0-updates-cached';

/**
 * dnf splits baseurl and gpgkey at spaces and commas and expands `$name` in them, so each path
 * segment is percent-encoded: `/var/lib/my updates` stays one URL, which curl decodes again.
 */
export function fileUrl(path: string): string {
  return `file://${path.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * `repoDir` defaults to the `repo` link; a run passes its hard-link snapshot of the published
 * generation instead (repo-snapshot.ts). `excluded`
 * are the exact builds dom0 withholds (withheld.ts): as the repository's own
 * `excludepkgs` they hide only its copies (never an installed package) and, unlike one --exclude
 * argument each, no number of them can make dnf's command line too long to start.
 */
export function cachedRepoDefinition(updatesDir: string, keyring: readonly string[], repoDir = join(updatesDir, 'repo'), excluded: readonly string[] = []): string {
  return [
    `[${CACHED_REPO_ID}]`,
    'name=dom0 updates, verified by dom0-receiver',
    `baseurl=${fileUrl(repoDir)}`,
    'enabled=1',
    'gpgcheck=1',
    // localpkg_gpgcheck is a [main] option, not a repository one: dom0-dnf.ts sets it on the command line.
    'repo_gpgcheck=0',
    'metadata_expire=0',
    'skip_if_unavailable=False',
    `gpgkey=${keyring.map(fileUrl).join(' ')}`,
    // plain names and exact builds only (no commas or spaces, which would split an entry)
    ...(excluded.length === 0 ? [] : [`excludepkgs=${excluded.join(',')}`]),
    '',
  ].join('\n');
}

/** A private directory holding only the cached repo definition: dnf's whole reposdir. */
export function writeCachedRepoDir(updatesDir: string, keyring: readonly string[], repoDir?: string, excluded: readonly string[] = []): string {
  return writeRunTempFile('repos', `${CACHED_REPO_ID}.repo`, cachedRepoDefinition(updatesDir, keyring, repoDir, excluded));
}
