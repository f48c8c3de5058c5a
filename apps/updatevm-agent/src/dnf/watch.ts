import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DnfError } from '../errors.ts';
import { formatBytes } from '../progress/reporter.ts';
import { sanitize } from '../text.ts';

/**
 * Runs `tick` every `ms` until stopped, never two at once; `stopped` tells a tick still under way
 * when dnf has ended that it must not report any more. A tick that fails is skipped: a count that
 * cannot be taken never fails the run.
 */
export function pollEvery(ms: number, tick: (stopped: () => boolean) => Promise<void>): { stop(): void } {
  let busy = false;
  let stopped = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void tick(() => stopped)
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, ms);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * Which repository a top-level entry of dnf's cache belongs to: its directory `<repoid>-<16 hex
 * digits>`, dnf 4's `<repoid>.solv` and `<repoid>-<kind>.solvx`; '' for anything else (dnf's own
 * files such as tempfiles.json).
 */
function repoOf(top: string): string {
  return /^(.{1,128})-[0-9a-f]{16}$/.exec(top)?.[1] ?? /^(.{1,128})\.solv$/.exec(top)?.[1] ?? /^(.{1,128})-[a-z]+\.solvx$/.exec(top)?.[1] ?? '';
}

/** A directory's entries; one that does not exist (yet) has none. */
async function entriesOf(dir: string): Promise<Dirent[]> {
  return readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
}

/**
 * The bytes of the regular files at or under `entry` of `dir` (links not followed); a file that
 * vanishes while counted counts nothing.
 */
async function bytesOf(dir: string, entry: Dirent): Promise<number> {
  const path = join(dir, entry.name);
  if (entry.isFile()) return (await lstat(path).catch(() => ({ size: 0 }))).size;
  if (!entry.isDirectory()) return 0;
  let bytes = 0;
  for (const child of await entriesOf(path)) bytes += await bytesOf(path, child);
  return bytes;
}

/** The bytes of the regular files under `dir` (dnf's cache), by repository. */
async function bytesByRepo(dir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const entry of await entriesOf(dir)) {
    const repo = repoOf(entry.name);
    sizes.set(repo, (sizes.get(repo) ?? 0) + (await bytesOf(dir, entry)));
  }
  return sizes;
}

const sum = (sizes: Map<string, number>): number => [...sizes.values()].reduce((a, b) => a + b, 0);

/** How often dnf's cache is counted while dnf runs: a mirror's endless file grows at disk speed. */
const METADATA_POLL_MS = 1000;

/**
 * Watches dnf's metadata cache while one dnf runs and calls `exceeded` once when it has grown by
 * more than `limit` bytes since dnf started: a repomd.xml or primary.xml without end, which
 * librepo would write until dom0's deadline. Growth, not the whole cache: what earlier runs left
 * there (repositories dom0 no longer has) must not fail this one. The packages themselves go to
 * the run's own directory, which is not under the cache.
 */
export async function watchMetadataGrowth(cache: string, limit: number, exceeded: (error: DnfError) => void): Promise<{ stop(): void }> {
  // a first count that fails is taken again at the first tick: never the whole cache as growth
  let before = await bytesByRepo(cache).catch(() => undefined);
  let told = false;
  return pollEvery(METADATA_POLL_MS, async (stopped) => {
    const now = await bytesByRepo(cache);
    if (before === undefined) {
      before = now;
      return;
    }
    const was = before;
    const grown = sum(now) - sum(was);
    if (grown <= limit || told || stopped()) return;
    told = true;
    const growth = (name: string): number => (now.get(name) ?? 0) - (was.get(name) ?? 0);
    const most = [...now.keys()].reduce<string | undefined>((top, name) => (top === undefined || growth(name) > growth(top) ? name : top), undefined);
    const repo = most === '' ? undefined : most;
    exceeded(
      new DnfError(
        'REPO_METADATA_TOO_LARGE',
        `${repo === undefined ? 'a repository' : `repository '${sanitize(repo)}'`} served more metadata than the agent allows: dnf's metadata cache grew by ${formatBytes(grown)} in one dnf call, over the limit of ${formatBytes(limit)} (a repomd.xml or primary.xml without end, from a broken or hostile mirror); dnf was stopped. Real repositories take a few hundred MiB: if yours need more, raise --max-metadata-bytes in the UpdateVM`,
      ),
    );
  });
}
