import { isatty } from 'node:tty';
import { RpmVerifyError, type Keyring } from '@dom0-updates/rpm-verify';
import type { ReceiveArgs } from '../cli/args.ts';
import { loadKeyringFiles } from '../config/keyring-files.ts';
import { idleTimeoutSeconds, resolveLimits } from '../config/limits.ts';
import { checkSender } from '../config/sender.ts';
import { resolveSandbox } from '../config/sandbox.ts';
import { resolveStageUser } from '../config/stage-user.ts';
import { ConfigError, ReceiverError } from '../errors.ts';
import { diagnose } from '../output/diagnostics.ts';
import { PhaseProfile, timed } from '../output/profile.ts';
import { bareReason, errnoReason, spaceReason } from '../output/reason.ts';
import { acceptedReply, rejectedReply, writeReply, type ReplyDelivery } from '../output/reply.ts';
import type { Reply } from '@dom0-updates/protocol';
import type { ChecksumCacheKey } from '../publish/checksum-cache.ts';
import { buildGeneration, generationId, switchRepo } from '../publish/generation.ts';
import { nextSequence, writeResultRecord, type AcceptedPackage, type Rejection } from '../publish/result-record.ts';
import { checkAgainstPublished } from '../publish/published-conflicts.ts';
import { checkStagedFiles } from '../publish/staged-check.ts';
import { pauseIfRequested } from '../test-hooks/pause.ts';
import { publishedGeneration, pruneGenerations } from '../updates-dir/generations.ts';
import type { Layout } from '../updates-dir/layout.ts';
import { acquireLock } from '../updates-dir/lock.ts';
import { recoverUpdatesDir } from '../updates-dir/recovery.ts';
import { resolveUpdatesDir, unusableUpdatesDir } from '../updates-dir/resolve.ts';
import { createStagingDir, removeStagingDir, sealStagingDir } from '../updates-dir/staging.ts';
import { closeInheritedDescriptors } from './inherited-fds.ts';
import { Interruption } from './interruption.ts';
import { reapLeftoverStage, reapStageUser } from './reap-stage-user.ts';
import { runStage } from './stage-process.ts';

/** Time the child gets beyond the decoder's own overall deadline before it is killed. */
const STAGE_GRACE_MS = 30_000;
/** After a signal, the sender gets this long to take the reply, not the whole idle deadline. */
const REPLY_GRACE_AFTER_SIGNAL_MS = 2_000;

type SendReply = (reply: Reply) => Promise<void>;

/**
 * Writes the reply within the idle deadline (a sender that does not read it is as stalled as
 * one that does not send), or a short grace once a signal came; a signal during the wait ends it.
 */
async function sendReplyWithin(reply: Reply, idleTimeoutMs: number, interruption: Interruption): Promise<void> {
  const stop = new AbortController();
  const unobserve = interruption.onSignal(() => stop.abort());
  const deadlineMs = interruption.received === undefined ? idleTimeoutMs : Math.min(idleTimeoutMs, REPLY_GRACE_AFTER_SIGNAL_MS);
  let delivery: ReplyDelivery;
  try {
    delivery = await writeReply(reply, { deadlineMs, stop: stop.signal });
  } finally {
    unobserve();
  }
  if (delivery === 'timed-out') diagnose(`the sender did not take the reply within ${Math.ceil(deadlineMs / 1000)} s; it was dropped`);
  if (delivery === 'stopped') diagnose('a signal came while the sender had not taken the reply; it was dropped');
}

export interface ReceiveContext {
  readonly bundlePath: string;
  readonly env: NodeJS.ProcessEnv;
}

function rejectionFromError(error: unknown): Rejection {
  if (error instanceof ReceiverError || error instanceof RpmVerifyError) {
    const member = error.member ?? null;
    return { code: error.code, member, message: bareReason(error.message, error.code, member) };
  }
  const message = error instanceof Error ? error.message : String(error);
  const space = spaceReason(error);
  return { code: 'PUBLISH_FAILED', member: null, message: space === undefined ? message : `${space}: ${message}; free space there and send the batch again` };
}

async function finishRejected(layout: Layout | undefined, sequence: number | undefined, rejection: Rejection, sendReply: SendReply): Promise<void> {
  diagnose(`rejected ${rejection.member ?? 'the batch'}: ${rejection.code}: ${rejection.message}`);
  if (layout !== undefined && sequence !== undefined) {
    try {
      await writeResultRecord(layout, { format: 1, sequence, finishedAt: new Date().toISOString(), status: 'rejected', rejection });
    } catch (error) {
      // a dead or full file system: the rejection still reaches the sender, and dom0-update sees
      // no new record (the sequence did not move) with a failed exit
      diagnose(`could not write the result record (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  await sendReply(rejectedReply(rejection));
}

interface Published {
  /** the generation now behind `repo` */
  readonly generation: string;
  /** the generation `repo` pointed at before (the same one when nothing new was published) */
  readonly previous: string | undefined;
  /** accepted packages that were not published before (a resent one keeps its published file) */
  readonly fresh: number;
}

/** Publishes the staged batch. */
async function publish(
  layout: Layout,
  stagingDir: string,
  accepted: readonly AcceptedPackage[],
  cacheKeys: ReadonlyMap<string, ChecksumCacheKey>,
  sequence: number,
  profile: PhaseProfile | undefined,
  createrepo: { cancel: AbortSignal; timeoutMs: number },
): Promise<Published> {
  const current = await publishedGeneration(layout);
  const previous = current?.id;
  const published = await checkAgainstPublished(current?.dir, accepted);
  // resent packages keep their published file (and its metadata); only new names are moved in
  const fresh = accepted.filter((p) => !published.has(p.file));
  // nothing new and a repository already published: keep serving it unchanged
  if (fresh.length === 0 && previous !== undefined) return { generation: previous, previous, fresh: 0 };
  const id = generationId(sequence);
  await buildGeneration(layout, stagingDir, fresh, id, cacheKeys, profile, createrepo);
  await pauseIfRequested('before-swap');
  await timed(profile, 'swap', () => switchRepo(layout, id));
  await pauseIfRequested('after-swap');
  return { generation: id, previous, fresh: fresh.length };
}

/**
 * Prunes old and half-built generations; a failure here changes nothing published, so it is only
 * told. After a switch, `previous` is the generation switched away from, the one to keep for
 * readers in flight.
 */
async function tidyGenerations(layout: Layout, previous?: string): Promise<void> {
  try {
    await pruneGenerations(layout, { previous });
  } catch (error) {
    diagnose(`could not prune old generations (${errnoReason(error)})`);
  }
}

/**
 * `receive`: sender check, lock, recovery, staging, the sandboxed decode-and-verify child, then
 * publication and the result record. Returns the exit code.
 */
export async function receiveCommand(args: ReceiveArgs, ctx: ReceiveContext): Promise<number> {
  // before any child is started: none may inherit what the receiver's caller left open
  closeInheritedDescriptors();
  const interruption = Interruption.install();
  try {
    return await receiveUnlessInterrupted(args, ctx, interruption);
  } finally {
    interruption.dispose();
  }
}

async function receiveUnlessInterrupted(args: ReceiveArgs, ctx: ReceiveContext, interruption: Interruption): Promise<number> {
  const profile = PhaseProfile.fromEnv('receiver', ctx.env);
  // from the flags already: a refusal before the limits are resolved replies within it too
  let idleTimeoutMs = idleTimeoutSeconds(args) * 1000;
  const sendReply: SendReply = (reply) => sendReplyWithin(reply, idleTimeoutMs, interruption);
  // after a signal every failure is recorded as the interruption it is (the stage was stopped)
  const finishFailed = async (layout: Layout | undefined, sequence: number | undefined, error: unknown): Promise<number> => {
    await finishRejected(layout, sequence, rejectionFromError(interruption.error() ?? error), sendReply);
    return interruption.exitCode(1);
  };
  let armored: string[];
  let keyring: Keyring;
  try {
    checkSender(ctx.env, args.updateVm ?? undefined);
    ({ armored, keyring } = await loadKeyringFiles(args.keyrings));
  } catch (error) {
    return finishFailed(undefined, undefined, error);
  }
  const owner = await resolveStageUser(args.user).catch((error: unknown) => error as ConfigError);
  if (owner instanceof Error) return finishFailed(undefined, undefined, owner);
  const sandbox = await resolveSandbox(args.sandbox, ctx.env).catch((error: unknown) => error as ConfigError);
  if (sandbox instanceof Error) return finishFailed(undefined, undefined, sandbox);

  let layout: Layout;
  try {
    layout = await resolveUpdatesDir(args.updatesDir);
  } catch (error) {
    return finishFailed(undefined, undefined, error);
  }
  const limits = await resolveLimits(args, ctx.env, layout.root);
  idleTimeoutMs = limits.idleTimeoutMs;
  // a signal before the lock: nothing was started, nothing is recorded (like any refusal before it)
  const early = interruption.error();
  if (early !== undefined) return finishFailed(undefined, undefined, early);
  let lock;
  try {
    lock = await acquireLock(layout.lockFile);
  } catch (error) {
    return finishFailed(undefined, undefined, error instanceof ReceiverError ? error : unusableUpdatesDir(layout.root, `take its lock ${layout.lockFile}`, error));
  }
  let stagingDir: string | undefined;
  // once per run, whichever path gets there first (the finally below is the last resort)
  const dropStaging = async (): Promise<void> => {
    const dir = stagingDir;
    stagingDir = undefined;
    if (dir !== undefined) await removeStagingDir(dir);
  };
  try {
    let sequence: number;
    let staging: string;
    try {
      const removed = await recoverUpdatesDir(layout, reapLeftoverStage);
      if (removed.length > 0) diagnose(`cleaned up after an interrupted run: ${removed.join(', ')}`);
      sequence = await nextSequence(layout);
      staging = await createStagingDir(layout.root, owner);
    } catch (error) {
      // past the lock, so recorded like any other failure, if the updates dir still lets us
      const recordAs = await nextSequence(layout).catch(() => undefined);
      return await finishFailed(layout, recordAs, error instanceof ReceiverError ? error : unusableUpdatesDir(layout.root, 'prepare it for a batch', error));
    }
    stagingDir = staging;
    // run by hand, it would otherwise wait in silence until the idle deadline
    if (isatty(0)) diagnose(`reading the update stream from stdin, which is a terminal: it comes from the UpdateVM (qrexec) or a pipe; Ctrl-C stops (nothing is published)`);
    let outcome;
    try {
      try {
        outcome = await timed(profile, 'stage', () => runStage({
          bundlePath: ctx.bundlePath,
          stagingDir: staging,
          owner,
          sandbox,
          config: { limits, armoredKeys: armored, now: (args.now ?? new Date()).toISOString() },
          pinnedFingerprints: keyring.fingerprints,
          killAfterMs: limits.overallTimeoutMs + STAGE_GRACE_MS,
          abort: interruption.abortSignal,
        }));
      } finally {
        // whatever the verdict, nothing of the stage's uid outlives it, and its files become ours
        await timed(profile, 'reap', () => reapStageUser(owner));
      }
      const staged = outcome;
      // only a batch to publish needs its files taken back; a rejected one is just removed, so a
      // failure here (a dead file system) never replaces the stage's verdict
      if (staged.kind === 'complete') {
        await sealStagingDir(staging);
        await timed(profile, 'staged-check', () => checkStagedFiles(staging, staged.accepted));
      }
    } catch (error) {
      await dropStaging();
      return await finishFailed(layout, sequence, error);
    }
    if (outcome.kind === 'rejected') {
      // the stage's verdict on the input stands even if a signal came meanwhile
      await dropStaging();
      await finishRejected(layout, sequence, outcome.rejection, sendReply);
      return interruption.exitCode(1);
    }
    await pauseIfRequested('after-stage');
    const stopped = interruption.error();
    if (stopped !== undefined) {
      await dropStaging();
      return await finishFailed(layout, sequence, stopped);
    }
    // From here on a signal stops createrepo_c, if it is still running (nothing is published
    // before the switch), and otherwise waits: the switch is never cut in half. createrepo_c
    // also gets --timeout of its own, so a stuck one cannot hold the lock for ever.
    let published: Published;
    try {
      published = await publish(layout, staging, outcome.accepted, outcome.cacheKeys, sequence, profile, {
        cancel: interruption.abortSignal,
        timeoutMs: limits.overallTimeoutMs,
      });
    } catch (error) {
      // a signal that stopped createrepo_c is the reason recorded (finishFailed)
      await dropStaging();
      await tidyGenerations(layout);
      return await finishFailed(layout, sequence, error);
    }
    const { generation, fresh } = published;
    await dropStaging();
    const recording = performance.now();
    let unrecorded: string | undefined;
    try {
      await writeResultRecord(layout, {
        format: 1,
        sequence,
        finishedAt: new Date().toISOString(),
        status: 'published',
        generation,
        accepted: outcome.accepted,
      });
    } catch (error) {
      // the batch is published all the same (the switch is done); dom0-update, which reads the
      // record, must not take the run for a success
      unrecorded = (error as NodeJS.ErrnoException).code ?? 'error';
    }
    profile?.add('result', performance.now() - recording);
    await pauseIfRequested('after-result');
    await timed(profile, 'prune', () => tidyGenerations(layout, published.previous));
    for (const pkg of outcome.accepted) diagnose(`accepted ${pkg.file}: ${pkg.nevraString} signed by ${pkg.signer.fingerprint}`);
    const resent = outcome.accepted.length - fresh;
    diagnose(
      outcome.accepted.length === 0
        ? `the batch held no packages; generation ${generation} is published`
        : fresh === 0
        ? `nothing new: all ${resent} package(s) were already published; generation ${generation} stays published`
        : `published generation ${generation} (${fresh} new package(s)${resent > 0 ? `, ${resent} already published` : ''})`,
    );
    if (unrecorded !== undefined) diagnose(`but the result record could not be written (${unrecorded}): dom0-update cannot tell what this batch held, so the run counts as failed`);
    await sendReply(acceptedReply(outcome.accepted));
    profile?.report();
    if (interruption.received !== undefined) diagnose(`interrupted by ${interruption.received} after publication; the batch stays published`);
    return interruption.exitCode(unrecorded === undefined ? 0 : 1);
  } finally {
    await dropStaging();
    await lock.release();
  }
}
