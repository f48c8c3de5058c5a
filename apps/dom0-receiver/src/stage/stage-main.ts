import { ProtocolError, StreamError } from '@dom0-updates/protocol';
import { loadKeyring, RpmVerifyError } from '@dom0-updates/rpm-verify';
import { PhaseProfile, timed } from '../output/profile.ts';
import { bareReason } from '../output/reason.ts';
import type { Rejection } from '../publish/result-record.ts';
import { parseStageConfig, type StageMessage } from './messages.ts';
import { receiveMembers } from './receive-members.ts';
import { StageIoError } from './stage-error.ts';

function send(message: StageMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined) {
      reject(new Error('the stage runs only as the receiver child (no IPC channel)'));
      return;
    }
    process.send(message, undefined, {}, (error) => (error === null ? resolve() : reject(error)));
  });
}

function rejectionOf(error: unknown): Rejection {
  const of = (code: string, member: string | null, message: string): Rejection => ({ code, member, message: bareReason(message, code, member) });
  if (error instanceof StreamError) return of(error.code, error.member ?? null, error.message);
  if (error instanceof ProtocolError) return of(error.code, null, error.message);
  if (error instanceof RpmVerifyError) return of(error.code, error.member ?? null, error.message);
  if (error instanceof StageIoError) return of(error.code, error.member, error.message);
  const code = (error as NodeJS.ErrnoException).code;
  return { code: 'STAGE_IO', member: null, message: `${code ?? 'error'}: ${error instanceof Error ? error.message : String(error)}` };
}

async function runStage(rawConfig: unknown): Promise<number> {
  const profile = PhaseProfile.fromEnv('stage');
  try {
    const config = parseStageConfig(rawConfig);
    const keyring = await timed(profile, 'keyring', () => loadKeyring(config.armoredKeys));
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
    await send({ kind: 'rejected', rejection: rejectionOf(error) });
    return 1;
  }
}

/** Entry of the decode-and-verify child: waits for its configuration, then reads the stream. */
export function stageMain(): void {
  // the receiver died (or closed the channel): nobody will publish, stop at once
  process.on('disconnect', () => process.exit(3));
  // tells the parent the stage's code is running: a stage that cannot start is told apart
  void send({ kind: 'ready' }).catch(() => process.exit(3));
  process.once('message', (raw: unknown) => {
    void runStage(raw).then(
      (code) => process.exit(code),
      () => process.exit(4),
    );
  });
}
