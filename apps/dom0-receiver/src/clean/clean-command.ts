/**
 * `clean`: empties the cached repository, as Qubes' `qubes-dom0-update --clean` empties its
 * cache. The empty repository is published with the same atomic switch as a batch, so a reader
 * sees the old repository or the empty one; then every other generation is removed, the
 * previous one too (the space is what the caller asked for): a dnf still reading the old
 * repository at that moment fails to find a file, it never sees a mix. dom0-update --clean
 * calls it under its own lock, before it asks the UpdateVM for anything.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CleanArgs } from '../cli/args.ts';
import { ConfigError, PublishError, ReceiverError } from '../errors.ts';
import { diagnose } from '../output/diagnostics.ts';
import { errnoReason } from '../output/reason.ts';
import { buildEmptyGeneration, generationId, switchRepo } from '../publish/generation.ts';
import { nextSequence, writeResultRecord } from '../publish/result-record.ts';
import { currentGeneration, isDirectory, listGenerations, pruneGenerations } from '../updates-dir/generations.ts';
import { layoutOf, type Layout } from '../updates-dir/layout.ts';
import { acquireLock } from '../updates-dir/lock.ts';
import { checkGenerationsDir, recoverUpdatesDir } from '../updates-dir/recovery.ts';
import { reapLeftoverStage } from '../receive/reap-stage-user.ts';
import { unusableUpdatesDir } from '../updates-dir/resolve.ts';

interface Held {
  readonly packages: number;
  readonly bytes: number;
}

async function packagesIn(dir: string): Promise<Held> {
  let packages = 0;
  let bytes = 0;
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.rpm')) continue;
    const info = await lstat(join(dir, name));
    if (!info.isFile()) continue;
    packages += 1;
    bytes += info.size;
  }
  return { packages, bytes };
}

/** The user clean works as: its uid, gid and the only groups it keeps. */
interface Publisher {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  readonly of: string;
}

/**
 * Whose repository it is. On Qubes the receive runs as the qrexec services' user while
 * dom0-update, which runs clean, runs as root: a generation or record root made there would be
 * one the service can neither prune nor hard-link metadata from (protected_hardlinks). That user
 * owns the updates dir, or, where root owns it and the user writes through its group (Qubes'
 * /var/lib/qubes/updates is root:qubes 0770), the generations the receiver made in it.
 */
async function publisherOf(layout: Layout): Promise<Publisher | undefined> {
  const dir = await stat(layout.root);
  if (dir.uid !== 0) return { uid: dir.uid, gid: dir.gid, groups: [dir.gid], of: layout.root };
  // only where another user can write root's dir, through its group (not root's own)
  if (dir.gid === 0 || (dir.mode & 0o020) === 0) return undefined;
  // never through a link, which would choose whose identity root takes (recovery refuses it too)
  const generations = await checkGenerationsDir(layout);
  if (generations === undefined || generations.uid === 0 || generations.gid === 0) return undefined;
  // the dir's group is how that user writes in it
  return { uid: generations.uid, gid: generations.gid, groups: [...new Set([generations.gid, dir.gid])], of: layout.generations };
}

/** As root, clean works as the repository's publisher (publisherOf), keeping none of root's groups. */
async function actAsPublisher(layout: Layout): Promise<void> {
  if (process.geteuid?.() !== 0) return;
  const publisher = await publisherOf(layout);
  if (publisher === undefined) return;
  const { uid, gid, groups, of } = publisher;
  try {
    process.setgroups?.([...groups]);
    process.setgid?.(gid);
    process.setuid?.(uid);
  } catch (error) {
    throw new ConfigError('CONFIG_INVALID', `cannot work as the owner of ${of} (uid ${uid}, gid ${gid}): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

const sizeText = (bytes: number): string => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`);

/** Publishes an empty generation over `current` and records it; returns its id and whether it was recorded. */
async function publishEmpty(layout: Layout): Promise<{ readonly id: string; readonly recorded: boolean }> {
  const sequence = await nextSequence(layout);
  const id = generationId(sequence);
  try {
    await buildEmptyGeneration(layout, id);
    await switchRepo(layout, id);
  } catch (error) {
    // the half-built generation goes now (the next run's recovery would take it otherwise)
    await pruneGenerations(layout).catch(() => undefined);
    if (error instanceof ReceiverError) throw error;
    throw new PublishError('PUBLISH_FAILED', `cannot publish an empty repository: ${errnoReason(error)}`);
  }
  try {
    // an empty batch's record: dom0-update reads "published, nothing accepted", as after an empty batch
    await writeResultRecord(layout, { format: 1, sequence, finishedAt: new Date().toISOString(), status: 'published', generation: id, accepted: [] });
  } catch (error) {
    // published all the same; the record still names the generation about to be removed, so the
    // run counts as failed, as a receive's does
    diagnose(
      `the empty repository is published, but the result record could not be written (${(error as NodeJS.ErrnoException).code ?? 'error'}): it still describes the batch before the clean`,
    );
    return { id, recorded: false };
  }
  return { id, recorded: true };
}

/** Returns whether every old generation is gone and the record written (a failure before the switch throws). */
async function cleanLocked(layout: Layout): Promise<boolean> {
  const leftovers = await recoverUpdatesDir(layout, reapLeftoverStage);
  if (leftovers.length > 0) diagnose(`cleaned up after an interrupted run: ${leftovers.join(', ')}`);
  const current = await currentGeneration(layout);
  if (current === undefined) {
    diagnose('nothing to clean: no repository is published');
    return true;
  }
  // a `repo` left pointing at a generation that is gone (undefined here): the empty repository takes its place
  const currentDir = join(layout.generations, current);
  const held = (await isDirectory(currentDir)) ? await packagesIn(currentDir) : undefined;
  const emptied = held?.packages === 0 ? { id: current, recorded: true } : await publishEmpty(layout);
  const published = emptied.id;
  diagnose(
    held === undefined
      ? `the published generation ${current} was missing; generation ${published} is published with no packages in its place`
      : held.packages === 0
      ? `the cached repository is already empty (generation ${published})`
      : `emptied the cached repository: ${held.packages} package(s), ${sizeText(held.bytes)}; generation ${published} is published with no packages`,
  );
  // past the switch: what follows only frees space, and a failure says so instead of "as before"
  try {
    const removed = await pruneGenerations(layout, { keepPrevious: false });
    // an earlier clean that could not finish left them: say that this one did
    if (held?.packages === 0 && removed.length > 0) diagnose(`removed ${removed.length} old generation(s) an earlier clean could not remove`);
    const left = (await listGenerations(layout)).filter((name) => name !== published);
    if (left.length === 0) return emptied.recorded;
    diagnose(`clean incomplete: ${left.length} old generation(s) could not be removed (named above) and still take space`);
  } catch (error) {
    diagnose(`clean incomplete: old generations could not be removed (${errnoReason(error)}) and still take space`);
  }
  return false;
}

/** The updates dir by its real path, or undefined when it does not exist: clean never creates one. */
async function existingUpdatesDir(dir: string): Promise<Layout | undefined> {
  let real: string;
  try {
    real = await realpath(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unusableUpdatesDir(dir, 'resolve its real path', error);
  }
  if (!(await isDirectory(real))) throw new ConfigError('CONFIG_INVALID', `the updates dir ${dir} cannot be used: it is not a directory`);
  return layoutOf(real);
}

export async function cleanCommand(args: CleanArgs): Promise<number> {
  try {
    const layout = await existingUpdatesDir(args.updatesDir);
    if (layout === undefined) {
      diagnose(`nothing to clean: ${args.updatesDir} does not exist`);
      return 0;
    }
    await actAsPublisher(layout);
    let lock;
    try {
      lock = await acquireLock(layout.lockFile);
    } catch (error) {
      throw error instanceof ReceiverError ? error : unusableUpdatesDir(layout.root, `take its lock ${layout.lockFile}`, error);
    }
    try {
      return (await cleanLocked(layout)) ? 0 : 1;
    } finally {
      await lock.release();
    }
  } catch (error) {
    const code = error instanceof ReceiverError ? error.code : 'PUBLISH_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    diagnose(`clean failed: ${code}: ${message}; the published repository is as it was before`);
    return 1;
  }
}
