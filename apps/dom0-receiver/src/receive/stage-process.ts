import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { afterDelay, sanitizeForTerminal } from '@dom0-updates/protocol';
import { STAGE_COMMAND } from '../cli/args.ts';
import { settleSandbox, type SandboxPlan, type StageSandbox } from '../config/sandbox.ts';
import { inNamespaces, type StageNamespaces } from '../config/stage-namespaces.ts';
import { PackageError, StageError, type ReceiverError } from '../errors.ts';
import { checkFileName } from '../publish/package-file-name.ts';
import type { ChecksumCacheKey } from '../publish/checksum-cache.ts';
import type { AcceptedPackage, Rejection } from '../publish/result-record.ts';
import { readJsonLines, writeJsonLine } from '../stage/channel.ts';
import { MAX_STAGE_MESSAGE_BYTES, parseStageMessage, StageMessageError, type StageConfig } from '../stage/messages.ts';
import type { StageOwner } from '../updates-dir/staging.ts';
import { profileEnv } from '../output/profile.ts';
import { testHookEnv } from '../test-hooks/hook-env.ts';
import { workerRefusedForTest } from '../test-hooks/no-worker.ts';

export type StageOutcome =
  | { readonly kind: 'complete'; readonly accepted: readonly AcceptedPackage[]; readonly cacheKeys: ReadonlyMap<string, ChecksumCacheKey> }
  | { readonly kind: 'rejected'; readonly rejection: Rejection };

export interface StageLaunch {
  /** The bundle this process runs from; the child runs the same file. */
  readonly bundlePath: string;
  readonly stagingDir: string;
  readonly owner: StageOwner | undefined;
  readonly sandbox: StageSandbox;
  readonly config: StageConfig;
  /**
   * Primary-key fingerprints of the keys dom0 pins (lowercase hex): a package the stage reports is
   * refused unless its signer is one of them, whatever else the stage says.
   */
  readonly pinnedFingerprints: readonly string[];
  /** Hard stop for the child, beyond the decoder's own deadlines. */
  readonly killAfterMs: number;
  /** Stops the child at once (the receiver was interrupted). */
  readonly abort?: AbortSignal;
}

/** Most diagnostics the child may print before the rest is dropped. */
const MAX_CHILD_STDERR = 64 * 1024;
/**
 * Once the stage has exited, how long its stderr and channel may stay open: what it wrote before
 * exiting is read well within this. After that, a process it left behind holds them, and is not
 * waited for (the sweep of its uid kills it).
 */
const STRAY_GRACE_MS = 2000;

/**
 * The child's descriptor for the bundle it runs (after stdin, stdout, stderr and the message
 * channel, src/stage/channel.ts). The parent opens the file as root and hands it over, so the
 * stage user needs no path access to wherever the bundle is installed (a 0700 dir, /root, ...).
 */
export const BUNDLE_FD = 4;
const BUNDLE_VIA_FD = `/proc/self/fd/${BUNDLE_FD}`;

/** Node 20 spells the permission model `--experimental-permission`; later releases `--permission`. */
function permissionFlag(): string {
  return process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
}

/**
 * The child's command line: Node's permission model lets it read only its own code (through the
 * inherited descriptor) and write only inside the staging dir; it gets no child processes or
 * addons, and worker threads only for the digest worker. With bwrap it also runs in fresh namespaces (no network) on a read-only view
 * of the system.
 */
export function stageCommand(launch: StageLaunch, env: NodeJS.ProcessEnv = process.env): { file: string; args: string[] } {
  const node = [
    // keep /proc/self/fd/N as the main module's path: its target may be unreachable to the stage user
    '--preserve-symlinks-main',
    permissionFlag(),
    '--no-warnings',
    // the stream's chunks are off-heap buffers that only a scavenge frees: a 1 MiB young
    // generation collects them often, so the peak RSS stays flat (measured for 1 GiB: 99 -> 74 MiB)
    '--max-semi-space-size=1',
    // and V8 favours memory over speed: 4096 small members stay under the memory target (config/memory.ts)
    '--optimize-for-size',
    // only for rpm-verify's digest worker (lane 0: the legacy MD5; lane 1: the SHA-256s, and the
    // staged files' writes where O_DIRECT is refused); without it the stage hashes on one thread. Threads share
    // this process's uid and permission limits.
    ...(workerRefusedForTest(env) ? [] : ['--allow-worker']),
    `--allow-fs-read=${BUNDLE_VIA_FD}`,
    `--allow-fs-write=${launch.stagingDir}/*`,
    BUNDLE_VIA_FD,
    STAGE_COMMAND,
  ];
  if (launch.sandbox.kind === 'none') {
    const wrapper = namespaceWrapper(launch);
    return wrapper === undefined ? { file: process.execPath, args: node } : inNamespaces(wrapper.tools, wrapper.owner, [process.execPath, ...node]);
  }
  return {
    file: launch.sandbox.path,
    args: [
      '--unshare-all',
      '--die-with-parent',
      '--new-session',
      '--ro-bind', '/', '/',
      '--dev', '/dev',
      '--proc', '/proc',
      // empty in the sandbox: the Unix sockets of /run (the system bus, journald, qrexec) and
      // /tmp (X11) are out of reach; a staging dir below one of them is bound in after
      '--tmpfs', '/run',
      '--tmpfs', '/tmp',
      '--tmpfs', '/var/tmp',
      '--bind', launch.stagingDir, launch.stagingDir,
      '--chdir', launch.stagingDir,
      '--',
      process.execPath,
      ...node,
    ],
  };
}

/** Longest excerpt of the child's stderr quoted in an error. */
const QUOTED_STDERR = 300;

/**
 * The line of the child's stderr that best says why it failed: the first error line (Node prints
 * `Error: ...` below a source location), else the first non-empty line.
 */
export function stderrReason(lines: readonly string[]): string | undefined {
  const useful = lines.map((l) => l.trim()).filter((l) => l !== '');
  const error = useful.find((l) => /^(?:[A-Za-z]*Error|Error)\b/.test(l));
  const line = error ?? useful[0];
  return line === undefined ? undefined : sanitizeForTerminal(line, QUOTED_STDERR);
}

function withReason(text: string, reason: string | undefined): string {
  return reason === undefined ? `${text} (no diagnostics)` : `${text}: ${reason}`;
}

/** What `runStage` is asked for: `--sandbox auto` is settled once the staging dir and owner exist. */
export type StageRequest = Omit<StageLaunch, 'sandbox'> & { readonly sandbox: SandboxPlan };

/** Runs the decode-and-verify stage in its own restricted process; the stream goes to it as fd 0. */
export async function runStage(request: StageRequest): Promise<StageOutcome> {
  const sandbox = await settleSandbox(request.sandbox, request.stagingDir, request.owner);
  return startStage({ ...request, sandbox });
}

/**
 * The namespace tools and the uid they drop to, when the stage runs without bwrap in namespaces of
 * its own: then unshare and setpriv drop to the stage uid themselves, after making them, not spawn.
 */
function namespaceWrapper(launch: StageLaunch): { readonly tools: StageNamespaces; readonly owner: StageOwner } | undefined {
  if (launch.sandbox.kind !== 'none' || launch.sandbox.namespaces === undefined || launch.owner === undefined) return undefined;
  return { tools: launch.sandbox.namespaces, owner: launch.owner };
}

function startStage(launch: StageLaunch): Promise<StageOutcome> {
  const { file, args } = stageCommand(launch);
  let bundleFd: number;
  try {
    bundleFd = openSync(launch.bundlePath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    return Promise.reject(new StageError('STAGE_START_FAILED', `cannot open the receiver bundle for the stage: ${(error as Error).message}`));
  }
  try {
    const child = spawn(file, args, {
      // chdir happens before the uid drop, so the child works in a dir it could not reach by path
      cwd: launch.stagingDir,
      // fd 3: a socket pair for the configuration and the verdicts (src/stage/channel.ts)
      stdio: ['inherit', 'ignore', 'pipe', 'pipe', bundleFd],
      // glibc gives each thread that allocates (the digest lanes, the thread pool) its own malloc
      // arena; two arenas keep the stage's peak RSS about 5 MiB lower at no measured cost in speed
      env: { ...testHookEnv(process.env), ...profileEnv(process.env), MALLOC_ARENA_MAX: '2' },
      ...(launch.owner === undefined || namespaceWrapper(launch) !== undefined ? {} : { uid: launch.owner.uid, gid: launch.owner.gid }),
    });
    // listeners go on before anything awaits: a child that dies at once must still be seen
    return superviseStage(child, launch, file);
  } finally {
    // the child holds its own copy of the descriptor from here on
    closeSync(bundleFd);
  }
}

/** Reads the verdicts of a started stage (exported for tests that play a hostile stage). */
export function superviseStage(child: ChildProcess, launch: StageLaunch, file: string): Promise<StageOutcome> {
  let stderrBytes = 0;
  let pending = '';
  const firstLines: string[] = [];
  const keep = (line: string): void => {
    if (firstLines.length < 20) firstLines.push(line);
    process.stderr.write(`${sanitizeForTerminal(line)}\n`);
  };
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    if (stderrBytes >= MAX_CHILD_STDERR) return;
    stderrBytes += text.length;
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) keep(line);
  });

  return new Promise<StageOutcome>((resolve, reject) => {
    const accepted: AcceptedPackage[] = [];
    const cacheKeys = new Map<string, ChecksumCacheKey>();
    const pinned = new Set(launch.pinnedFingerprints);
    const { maxMembers, maxMemberBytes, maxTotalBytes } = launch.config.limits;
    let acceptedBytes = 0;
    let started = false;
    let outcome: StageOutcome | undefined;
    let failure: ReceiverError | undefined;
    const fail = (error: ReceiverError): void => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const cancelDeadline = afterDelay(launch.killAfterMs, () => {
      fail(new StageError('STAGE_TIMEOUT', `the stage did not finish within ${Math.round(launch.killAfterMs / 1000)} s`));
    });
    const onAbort = (): void => fail(new StageError('STAGE_FAILED', 'the stage was stopped: the receiver was interrupted'));
    if (launch.abort?.aborted === true) onAbort();
    else launch.abort?.addEventListener('abort', onAbort, { once: true });

    const onMessage = (raw: unknown): void => {
      try {
        if (outcome !== undefined) throw new StageMessageError('message after the final one');
        const message = parseStageMessage(raw);
        if (message.kind === 'ready') {
          if (started) throw new StageMessageError('reported ready twice');
          started = true;
          return;
        }
        if (!started) throw new StageMessageError(`sent ${message.kind} before ready`);
        // a misnamed package stops the batch at once; the stage is killed
        if (message.kind === 'accepted') {
          // the limits and the pinned keys are dom0's: a report outside them is a breach, not a verdict
          const { file, size, signer } = message.package;
          if (accepted.length >= maxMembers) throw new StageMessageError(`accepted more packages than the ${maxMembers} members allowed`);
          if (size > maxMemberBytes) throw new StageMessageError(`accepted ${file} of ${size} bytes, over the limit of ${maxMemberBytes}`);
          acceptedBytes += size;
          if (acceptedBytes > maxTotalBytes) throw new StageMessageError(`accepted ${acceptedBytes} bytes in all, over the limit of ${maxTotalBytes}`);
          if (!pinned.has(signer.fingerprint)) throw new StageMessageError(`accepted ${file} signed by ${signer.fingerprint}, which is not a pinned key`);
          accepted.push(checkFileName(message.package));
          if (message.cacheKey !== null) cacheKeys.set(message.package.file, message.cacheKey);
        }
        else if (message.kind === 'rejected') outcome = message;
        else if (message.members !== accepted.length) throw new StageMessageError(`reported ${message.members} members but accepted ${accepted.length}`);
        else outcome = { kind: 'complete', accepted, cacheKeys };
      } catch (error) {
        if (error instanceof PackageError) fail(error);
        else fail(new StageError('STAGE_PROTOCOL', `the stage broke its reporting contract: ${(error as Error).message}`));
      }
    };
    const channel = child.stdio[3] as Duplex;
    readJsonLines(channel, MAX_STAGE_MESSAGE_BYTES, onMessage, (error) => {
      fail(new StageError('STAGE_PROTOCOL', `the stage broke its reporting contract: ${error.message}`));
    });
    child.on('error', (error) => fail(new StageError('STAGE_START_FAILED', `cannot start the stage (${file}): ${error.message}`)));
    let strayTimer: NodeJS.Timeout | undefined;
    child.on('exit', () => {
      // 'close' waits for every pipe, and a process the stage left could hold one for ever
      strayTimer = setTimeout(() => {
        child.stderr?.destroy();
        channel.destroy();
      }, STRAY_GRACE_MS);
    });
    child.on('close', (code, signal) => {
      clearTimeout(strayTimer);
      cancelDeadline();
      launch.abort?.removeEventListener('abort', onAbort);
      if (pending !== '') keep(pending);
      const how = `exit ${String(code)}, signal ${String(signal)}`;
      if (failure !== undefined) reject(failure);
      else if (!started) reject(new StageError('STAGE_START_FAILED', withReason(`the stage did not start (${how})`, stderrReason(firstLines))));
      else if (outcome === undefined) reject(new StageError('STAGE_FAILED', withReason(`the stage ended without a verdict (${how})`, stderrReason(firstLines))));
      else if (outcome.kind === 'complete' && code !== 0) reject(new StageError('STAGE_FAILED', `the stage reported success but exited with ${String(code)}`));
      else resolve(outcome);
    });
    writeJsonLine(channel, launch.config).catch((error: unknown) => {
      // a child that died before reading its configuration is reported by 'close' as not started
      if (started) fail(new StageError('STAGE_FAILED', `cannot configure the stage: ${(error as Error).message}`));
    });
  });
}
