import { access, lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { memberNameProblem } from '@dom0-updates/protocol';
import { checkArgs, downloadArgs, matchArgs } from '../dnf/argv.ts';
import { detectDnf, type DnfTool } from '../dnf/detect.ts';
import { dnfFailure, runDnf } from '../dnf/run.ts';
import { pollEvery } from '../dnf/watch.ts';
import { AgentError, DiskFullError, DnfError, isNoSpace, StateError } from '../errors.ts';
import { ExitCode } from '../exit-code.ts';
import { detectReleasever, writeRpmMacros } from '../installroot/rpmdb.ts';
import { makeRunDir, sweepOrphanedRunDirs } from '../installroot/run-dirs.ts';
import { makeWorkdirDir } from '../installroot/workdir-fs.ts';
import type { DownloadRequest } from '../request.ts';
import type { TransportSpec } from '../cli/args.ts';
import { formatBytes } from '../progress/reporter.ts';
import { sanitize } from '../text.ts';
import { interpretReply } from '../transport/reply.ts';
import { checkTransport } from '../transport/preflight.ts';
import { sendUpdates, type OutgoingPackage } from '../transport/send.ts';
import type { AgentContext } from './context.ts';

async function requireState(ctx: AgentContext): Promise<void> {
  try {
    await access(ctx.layout.dnfConf);
  } catch {
    throw new StateError(
      'NO_STATE',
      `no dom0 state under ${sanitize(ctx.layout.workdir)}: dom0 must sync its state first (updatevm-agent sync-state, or run)`,
    );
  }
}

/**
 * `--clean`: dnf's caches and any package left from an earlier run are removed. The cache is the
 * agent's own directory (dnf's cachedir), so removing it is the whole clean; no `dnf clean all`,
 * which could only fail it for reasons that have nothing to do with the cache.
 */
async function clean(ctx: AgentContext): Promise<void> {
  await rm(ctx.layout.cache, { recursive: true, force: true });
  await rm(ctx.layout.runs, { recursive: true, force: true });
  ctx.reporter.report({ stage: 'info', message: 'cache cleaned' });
}

async function checkOnly(
  ctx: AgentContext,
  dnf: DnfTool,
  request: DownloadRequest,
  releasever: string | undefined,
): Promise<ExitCode> {
  const updates: string[] = [];
  ctx.reporter.report({ stage: 'resolve' });
  const run = await runDnf(dnf, checkArgs(dnf, ctx.layout, request, releasever), ctx.layout, ctx.dnfLimits, 'check', (event) => {
    if (event.kind === 'available-update') updates.push(sanitize(`${event.name} ${event.version}`, 300));
  }, ctx.interruption);
  // Only dnf's own 100 and 0 are answers; anything else means the check did not happen.
  if (run.exitCode !== 100 && run.exitCode !== 0) {
    throw dnfFailure(run, 'checking for updates (the check did not complete, so this is NOT "no updates")');
  }
  // a named package that no repository has is an error, as it is without --check-only
  for (const spec of request.packages) await requireMatch(ctx, dnf, request, releasever, spec);
  if (run.exitCode === 100) {
    ctx.reporter.report({ stage: 'info', message: `updates available: ${updates.length === 0 ? 'yes' : updates.join(', ')}` });
    ctx.reporter.report({ stage: 'done', result: 'updates_available', packages: updates });
    return ExitCode.updatesAvailable;
  }
  ctx.reporter.report({ stage: 'info', message: 'no updates available' });
  ctx.reporter.report({ stage: 'done', result: 'no_updates' });
  return ExitCode.ok;
}

async function requireMatch(ctx: AgentContext, dnf: DnfTool, request: DownloadRequest, releasever: string | undefined, spec: string): Promise<void> {
  let matched = false;
  const run = await runDnf(dnf, matchArgs(dnf, ctx.layout, request, releasever, spec), ctx.layout, ctx.dnfLimits, 'match', () => {
    matched = true;
  }, ctx.interruption);
  if (run.exitCode !== 0) throw dnfFailure(run, `looking up "${sanitize(spec)}" (the check did not complete, so this is NOT "no updates")`);
  if (!matched) throw new DnfError('PACKAGE_NOT_FOUND', `no package matches "${sanitize(spec)}" in the enabled repositories`);
}

/** The packages dnf put in this run's fresh directory, and nothing else. */
async function collectDownloads(dir: string): Promise<OutgoingPackage[]> {
  const out: OutgoingPackage[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    // a package the metadata named without .rpm was still downloaded: sending nothing would read as "no updates"
    if (!entry.name.endsWith('.rpm')) {
      if (entry.name.endsWith('.drpm')) continue;
      throw new AgentError('BAD_PACKAGE_NAME', `the mirror served package file "${sanitize(entry.name)}", which cannot be sent: its name does not end in .rpm`);
    }
    const problem = memberNameProblem(entry.name);
    if (problem !== undefined) {
      throw new AgentError(
        'BAD_PACKAGE_NAME',
        `the mirror served package file "${sanitize(entry.name)}", which cannot be sent: ${problem}; no update is sent while dnf wants it: leave that package out (dom0-update --exclude=NAME) to update the others`,
      );
    }
    const path = join(dir, entry.name);
    out.push({ name: entry.name, path, size: (await lstat(path)).size });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

async function downloadAndSend(
  ctx: AgentContext,
  dnf: DnfTool,
  request: DownloadRequest,
  releasever: string | undefined,
  transport: TransportSpec,
): Promise<ExitCode> {
  await makeWorkdirDir(ctx.layout.workdir, ctx.layout.runs, 0o700);
  await sweepRunDirs(ctx);
  // A fresh directory per run: only this run's packages are ever sent (Qubes issue 3408).
  const dir = await makeRunDir(ctx.layout.runs);
  const forget = ctx.interruption.removeOnForcedExit(dir);
  try {
    let total: number | null = null;
    let done = 0;
    let downloading = false;
    let expectedBytes: number | undefined;
    // a mirror that sends a package body without end is stopped at what dnf said it would download
    const overflow = new AbortController();
    const stop = { signal: AbortSignal.any([ctx.interruption.signal, overflow.signal]), killOnForcedExit: (pid: number) => ctx.interruption.killOnForcedExit(pid) };
    const percentDone = (): number | null => (total === null || total === 0 ? null : Math.min(100, Math.floor((done * 100) / total)));
    ctx.reporter.report({ stage: 'resolve' });
    // dnf says a package is done only when it is: a slow download would show nothing for minutes
    const heartbeat = watchDownloadedBytes(dir, (bytes) => {
      if (expectedBytes !== undefined && bytes > downloadCeiling(expectedBytes) && !overflow.signal.aborted) {
        overflow.abort(
          new DnfError(
            'PACKAGE_DOWNLOAD_FAILED',
            `the mirror sent ${formatBytes(bytes)} where dnf's transaction gives ${formatBytes(expectedBytes)} in all: a package body without end (a broken or hostile mirror); the download was stopped`,
          ),
        );
      }
      if (!downloading) return false;
      ctx.reporter.report({ stage: 'download', done, total, percent: percentDone(), bytes });
      return true;
    });
    let run;
    try {
      const startDownload = (): void => {
        if (downloading) return;
        downloading = true;
        ctx.reporter.report({ stage: 'download', done, total, percent: total === null ? null : 0 });
      };
      run = await runDnf(dnf, downloadArgs(dnf, ctx.layout, request, dir, releasever), ctx.layout, ctx.dnfLimits, 'download', (event) => {
        if (event.kind === 'transaction-count') total = (total ?? 0) + event.count;
        if (event.kind === 'download-size') {
          expectedBytes = event.bytes;
          // dnf5 says "Downloading Packages:" only in its download command: its total is the last word before
          if (dnf.major === 5 && event.bytes > 0) startDownload();
        }
        if (event.kind === 'downloading') startDownload();
        if (event.kind === 'downloaded') {
          done += 1;
          ctx.reporter.report({ stage: 'download', done, total, percent: percentDone(), package: sanitize(event.file, 300) });
        }
      }, stop);
    } finally {
      heartbeat.stop();
    }
    if (run.exitCode !== 0) throw dnfFailure(run, 'downloading updates');
    ctx.interruption.throwIfStopped();
    const packages = await collectDownloads(dir);
    if (packages.length === 0 && expectedBytes !== undefined && expectedBytes > 0) {
      // never "no updates" when dnf had a download to make: it made it somewhere else
      throw new DnfError(
        'DNF_FAILED',
        `dnf said it would download ${formatBytes(expectedBytes)} and ended without an error, but no package reached this run's download directory; nothing was sent to dom0 and this is NOT "no updates"`,
      );
    }
    if (packages.length === 0) {
      // Nothing to send: no empty batch goes to dom0 (see README, "No updates").
      ctx.reporter.report({ stage: 'info', message: 'no updates: nothing to download' });
      ctx.reporter.report({ stage: 'done', result: 'no_updates' });
      return ExitCode.ok;
    }
    ctx.reporter.report({ stage: 'info', message: `downloaded ${packages.length} package(s); sending to dom0` });
    const result = await sendUpdates(transport, packages, ctx.reporter, ctx.interruption);
    const accepted = interpretReply(result, transport.kind === 'local').map((p) => sanitize(p.nevra, 600));
    ctx.reporter.report({ stage: 'info', message: `dom0 accepted ${accepted.length} package(s): ${accepted.join(', ')}` });
    ctx.reporter.report({ stage: 'done', result: 'accepted', packages: accepted });
    return ExitCode.ok;
  } catch (error) {
    if (isNoSpace(error)) throw new DiskFullError(`disk full under ${sanitize(ctx.layout.workdir)} while downloading`);
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
    forget();
  }
}

/**
 * An agent killed outright (SIGKILL, or by dom0's deadline) leaves its download directory, up to a
 * whole batch: each run removes those whose agent is gone, and says so.
 */
async function sweepRunDirs(ctx: AgentContext): Promise<void> {
  const { removed, failed } = await sweepOrphanedRunDirs(ctx.layout.runs);
  if (removed.length > 0) {
    ctx.reporter.report({
      stage: 'info',
      message: `removed ${removed.length} download ${removed.length === 1 ? 'directory' : 'directories'} left by agent runs that were killed: ${removed.map((n) => sanitize(n, 100)).join(', ')}`,
    });
  }
  for (const { name, code } of failed) {
    ctx.reporter.report({ stage: 'info', message: `could not remove ${sanitize(name, 100)}, left by an agent run that was killed (${sanitize(code, 40)}); --clean removes it` });
  }
}

/** dnf rounds its total to three digits; partial files and a deltarpm's pieces add a little. */
function downloadCeiling(expectedBytes: number): number {
  return Math.ceil(expectedBytes * 1.25) + 16 * 1024 * 1024;
}

/** How often the bytes in a run's download directory are counted while dnf downloads. */
const HEARTBEAT_MS = 3000;

/**
 * Counts the bytes of the regular files in `dir` every few seconds and reports the count when it
 * has grown. `report` says whether it showed the count: one counted before dnf's "Downloading"
 * line was read is offered again, not taken as already shown. Never fails the run: a count that
 * cannot be taken is skipped.
 */
function watchDownloadedBytes(dir: string, report: (bytes: number) => boolean): { stop(): void } {
  let last = 0;
  return pollEvery(HEARTBEAT_MS, async (stopped) => {
    let bytes = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      // a delta rpm is not counted: dnf's total counts full packages, and a delta that cannot be
      // applied (dom0's files are not in the UpdateVM) stays beside the full package it fetches
      if (entry.isFile() && !entry.name.endsWith('.drpm')) bytes += (await lstat(join(dir, entry.name)).catch(() => ({ size: 0 }))).size;
    }
    // a count still under way when dnf ends must not report after later progress lines
    if (bytes > last && !stopped() && report(bytes)) last = bytes;
  });
}

/** Resolves and downloads with dnf, then sends this run's packages to dom0 (or only checks). */
export async function performDownload(
  ctx: AgentContext,
  request: DownloadRequest,
  transport: TransportSpec,
): Promise<ExitCode> {
  await requireState(ctx);
  const dnf = await detectDnf(undefined, ctx.interruption);
  await writeRpmMacros(ctx.layout);
  if (request.clean) await clean(ctx);
  try {
    const releasever = await detectReleasever(ctx.layout, ctx.interruption);
    if (request.checkOnly) return await checkOnly(ctx, dnf, request, releasever);
    checkTransport(transport);
    return await downloadAndSend(ctx, dnf, request, releasever, transport);
  } finally {
    await removePartialMetadata(ctx.layout.cache);
  }
}

/**
 * librepo downloads repository metadata into `tmpdir.*` directories of each repository's cache
 * and removes them only when it finishes: a run stopped during an endless repomd.xml (dom0's
 * deadline) would leave the partial file, and a hostile mirror would fill the disk one run at a
 * time. No dnf of this workdir runs once the run ends.
 */
async function removePartialMetadata(cache: string): Promise<void> {
  let repos: string[];
  try {
    repos = await readdir(cache);
  } catch {
    return;
  }
  for (const repo of repos) {
    const entries = await readdir(join(cache, repo)).catch(() => [] as string[]);
    // best effort: the run's own outcome stands, and a later run tries again
    for (const entry of entries) if (entry.startsWith('tmpdir.')) await rm(join(cache, repo, entry), { recursive: true, force: true }).catch(() => undefined);
  }
}
