import { spawn } from 'node:child_process';
import { sanitizeForTerminal } from '@dom0-updates/protocol';
import type { SandboxKind } from '../cli/args.ts';
import { STAGE_COMMAND } from '../cli/args.ts';
import { StageError } from '../errors.ts';
import type { AcceptedPackage, Rejection } from '../publish/result-record.ts';
import { parseStageMessage, StageMessageError, type StageConfig } from '../stage/messages.ts';
import type { StageOwner } from '../updates-dir/staging.ts';
import { profileEnv } from '../output/profile.ts';
import { testHookEnv } from '../test-hooks/pause.ts';

export type StageOutcome =
  | { readonly kind: 'complete'; readonly accepted: readonly AcceptedPackage[] }
  | { readonly kind: 'rejected'; readonly rejection: Rejection };

export interface StageLaunch {
  /** The bundle this process runs from; the child runs the same file. */
  readonly bundlePath: string;
  readonly stagingDir: string;
  readonly owner: StageOwner | undefined;
  readonly sandbox: SandboxKind;
  readonly config: StageConfig;
  /** Hard stop for the child, beyond the decoder's own deadlines. */
  readonly killAfterMs: number;
}

/** Most diagnostics the child may print before the rest is dropped. */
const MAX_CHILD_STDERR = 64 * 1024;

/** Node 20 spells the permission model `--experimental-permission`; later releases `--permission`. */
function permissionFlag(): string {
  return process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
}

/**
 * The child's command line: Node's permission model lets it read only its own code and write
 * only inside the staging dir; it gets no child processes, workers or addons. With bwrap it also
 * runs in fresh namespaces (no network) on a read-only view of the system.
 */
export function stageCommand(launch: StageLaunch): { file: string; args: string[] } {
  const node = [
    permissionFlag(),
    '--no-warnings',
    // the stream's chunks are off-heap buffers that only a scavenge frees: a 1 MiB young
    // generation collects them often, so the peak RSS stays flat (measured for 1 GiB: 99 -> 74 MiB)
    '--max-semi-space-size=1',
    `--allow-fs-read=${launch.bundlePath}`,
    `--allow-fs-write=${launch.stagingDir}/*`,
    launch.bundlePath,
    STAGE_COMMAND,
  ];
  if (launch.sandbox === 'none') return { file: process.execPath, args: node };
  return {
    file: 'bwrap',
    args: [
      '--unshare-all',
      '--die-with-parent',
      '--new-session',
      '--ro-bind', '/', '/',
      '--dev', '/dev',
      '--proc', '/proc',
      '--bind', launch.stagingDir, launch.stagingDir,
      '--chdir', launch.stagingDir,
      '--',
      process.execPath,
      ...node,
    ],
  };
}

/** Runs the decode-and-verify stage in its own restricted process; the stream goes to it as fd 0. */
export function runStage(launch: StageLaunch): Promise<StageOutcome> {
  const { file, args } = stageCommand(launch);
  const child = spawn(file, args, {
    // chdir happens before the uid drop, so the child works in a dir it could not reach by path
    cwd: launch.stagingDir,
    stdio: ['inherit', 'ignore', 'pipe', 'ipc'],
    env: { ...testHookEnv(process.env), ...profileEnv(process.env) },
    serialization: 'json',
    ...(launch.owner === undefined ? {} : { uid: launch.owner.uid, gid: launch.owner.gid }),
  });

  let stderrBytes = 0;
  let pending = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    if (stderrBytes >= MAX_CHILD_STDERR) return;
    stderrBytes += text.length;
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) process.stderr.write(`${sanitizeForTerminal(line)}\n`);
  });

  return new Promise<StageOutcome>((resolve, reject) => {
    const accepted: AcceptedPackage[] = [];
    let outcome: StageOutcome | undefined;
    let failure: StageError | undefined;
    const fail = (error: StageError): void => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      fail(new StageError('STAGE_TIMEOUT', `the stage did not finish within ${Math.round(launch.killAfterMs / 1000)} s`));
    }, launch.killAfterMs);

    child.on('message', (raw: unknown) => {
      try {
        if (outcome !== undefined) throw new StageMessageError('message after the final one');
        const message = parseStageMessage(raw);
        if (message.kind === 'accepted') accepted.push(message.package);
        else if (message.kind === 'rejected') outcome = message;
        else if (message.members !== accepted.length) throw new StageMessageError(`reported ${message.members} members but accepted ${accepted.length}`);
        else outcome = { kind: 'complete', accepted };
      } catch (error) {
        fail(new StageError('STAGE_PROTOCOL', `the stage broke its reporting contract: ${(error as Error).message}`));
      }
    });
    child.on('error', (error) => fail(new StageError('STAGE_FAILED', `cannot start the stage (${file}): ${error.message}`)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pending !== '') process.stderr.write(`${sanitizeForTerminal(pending)}\n`);
      if (failure !== undefined) reject(failure);
      else if (outcome === undefined) reject(new StageError('STAGE_FAILED', `the stage ended without a verdict (exit ${String(code)}, signal ${String(signal)})`));
      else if (outcome.kind === 'complete' && code !== 0) reject(new StageError('STAGE_FAILED', `the stage reported success but exited with ${String(code)}`));
      else resolve(outcome);
    });
    child.send(launch.config, (error) => {
      if (error !== null) fail(new StageError('STAGE_FAILED', `cannot configure the stage: ${error.message}`));
    });
  });
}
