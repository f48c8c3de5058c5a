import { fstatSync } from 'node:fs';
import { ProtocolError, StreamError } from '@dom0-updates/protocol';
import { loadKeyring, RpmVerifyError } from '@dom0-updates/rpm-verify';
import { PhaseProfile, timed } from '../output/profile.ts';
import { bareReason } from '../output/reason.ts';
import type { Rejection } from '../publish/batch-outcome.ts';
import { CHANNEL_FD, jsonLineWriter, readFirstJsonLine } from './channel.ts';
import { MAX_REJECTION_MEMBER, MAX_REJECTION_MESSAGE, parseStageConfig, type StageMessage } from './messages.ts';
import { receiveMembers } from './receive-members.ts';
import { StageIoError } from './stage-error.ts';

/** Most bytes of a configuration line: the armored keys dom0 passes, each up to 1 MiB. */
const MAX_CONFIG_LINE = 64 * 1024 * 1024;

type Send = (message: StageMessage) => Promise<void>;

function rejectionOf(error: unknown): Rejection {
  const of = (code: string, member: string | null, message: string): Rejection => ({ code, member, message: bareReason(message, code, member) });
  if (error instanceof StreamError) return of(error.code, error.member ?? null, error.message);
  if (error instanceof ProtocolError) return of(error.code, null, error.message);
  if (error instanceof RpmVerifyError) return of(error.code, error.member ?? null, error.message);
  if (error instanceof StageIoError) return of(error.code, error.member, error.message);
  const code = (error as NodeJS.ErrnoException).code;
  return { code: 'STAGE_IO', member: null, message: `${code ?? 'error'}: ${error instanceof Error ? error.message : String(error)}` };
}

/** Cut as the parent cuts: with JSON's escapes the line stays within the parent's limit. */
function bounded(rejection: Rejection): Rejection {
  return { ...rejection, member: rejection.member?.slice(0, MAX_REJECTION_MEMBER) ?? null, message: rejection.message.slice(0, MAX_REJECTION_MESSAGE) };
}

async function runStage(rawConfig: unknown, send: Send): Promise<number> {
  const profile = PhaseProfile.fromEnv('stage');
  try {
    const config = parseStageConfig(rawConfig);
    const keyring = await timed(profile, 'keyring', () => loadKeyring(config.armoredKeys));
    // Node reads a directory on fd 0 as an empty stream, which would blame the sender (TAR_MISSING_END)
    if (fstatSync(0).isDirectory()) throw new StreamError('TAR_SOURCE_ERROR', 'reading the stream failed: stdin is a directory (EISDIR)');
    // fd 0 is the receiver's stdin, passed through; process.stdin copes with a non-blocking pipe
    const members = await receiveMembers(
      process.stdin,
      config.limits,
      keyring,
      new Date(config.now),
      (pkg, cacheKey) => send({ kind: 'accepted', package: pkg, cacheKey }),
      profile,
    );
    await send({ kind: 'complete', members });
    profile?.report();
    return 0;
  } catch (error) {
    await send({ kind: 'rejected', rejection: bounded(rejectionOf(error)) });
    return 1;
  }
}

/** How often the stage looks whether the receiver that started it is still there. */
const PARENT_CHECK_MS = 250;

/** Entry of the decode-and-verify child: waits for its configuration, then reads the stream. */
export function stageMain(): void {
  const send: Send = jsonLineWriter(CHANNEL_FD);
  // the receiver died: nobody will publish, stop at once (under bwrap, --die-with-parent does it too).
  // The timer also keeps the event loop alive, as Node's IPC channel did: the stage always ends by
  // process.exit with its verdict's code, never by running out of work while a digest lane or the
  // stream still has to settle (the parent's deadline stops a stage that hangs).
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(3);
  }, PARENT_CHECK_MS);
  // tells the parent the stage's code is running: a stage that cannot start is told apart
  void send({ kind: 'ready' }).catch(() => process.exit(3));
  void readFirstJsonLine(CHANNEL_FD, MAX_CONFIG_LINE).then(
    (raw) => runStage(raw, send).then(
      (code) => process.exit(code),
      () => process.exit(4),
    ),
    () => process.exit(4),
  );
}
