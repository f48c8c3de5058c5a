import { lstat, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
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
 * The bytes of the regular files under `dir`, by its top-level entry (dnf's cache: one directory
 * per repository, `<repoid>-<hash>`, and its solv files). A directory that does not exist yet
 * holds nothing; a file that vanishes while counted counts nothing.
 */
async function bytesByEntry(dir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const top = relative(dir, join(entry.parentPath, entry.name)).split(sep)[0] ?? '';
    const { size } = await lstat(join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }));
    sizes.set(top, (sizes.get(top) ?? 0) + size);
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
  const before = await bytesByEntry(cache).catch(() => new Map<string, number>());
  const start = sum(before);
  let told = false;
  return pollEvery(METADATA_POLL_MS, async (stopped) => {
    const now = await bytesByEntry(cache);
    const grown = sum(now) - start;
    if (grown <= limit || told || stopped()) return;
    told = true;
    // the repository whose directory grew the most: dnf names it `<repoid>-<16 hex digits>`
    const growth = (name: string): number => (now.get(name) ?? 0) - (before.get(name) ?? 0);
    const top = [...now.keys()].reduce<string | undefined>((most, name) => (most === undefined || growth(name) > growth(most) ? name : most), undefined);
    const repo = /^(.{1,128})-[0-9a-f]{16}$/.exec(top ?? '')?.[1];
    exceeded(
      new DnfError(
        'REPO_METADATA_TOO_LARGE',
        `${repo === undefined ? 'a repository' : `repository '${sanitize(repo)}'`} served more metadata than the agent allows: dnf's metadata cache grew by ${formatBytes(grown)} in this run, over the limit of ${formatBytes(limit)} (a repomd.xml or primary.xml without end, from a broken or hostile mirror); dnf was stopped. Real repositories take a few hundred MiB: if yours need more, raise --max-metadata-bytes in the UpdateVM`,
      ),
    );
  });
}
