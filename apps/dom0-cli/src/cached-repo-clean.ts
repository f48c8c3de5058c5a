/**
 * --clean empties dom0's cached repository before the UpdateVM is asked for anything, as Qubes'
 * qubes-dom0-update --clean does: dom0's own receiver (`RECEIVER_COMMAND clean`) publishes an
 * empty repository under the receiver's lock and removes the old generations. Without it the
 * cache only grows, and with it the builds dom0 withholds from dnf.
 */
import { execa } from 'execa';
import type { Config } from './config.ts';
import { ReceiverError } from './errors.ts';
import type { Interrupt } from './interrupt.ts';
import { readLines } from './output-lines.ts';

export function receiverCleanArgv(config: Config): string[] {
  return [...config.receiverCommand, 'clean', '--updates-dir', config.updatesDir];
}

/** Runs the receiver's clean; its diagnostics go to `onLine`. Throws INTERRUPTED after a signal, else CLEAN_FAILED unless it exits 0. */
export async function emptyCachedRepo(config: Config, onLine: (line: string) => void, interrupt: Interrupt): Promise<void> {
  const [file = '', ...args] = receiverCleanArgv(config);
  // a terminal's Ctrl-C reaches it too; it publishes atomically, so however it ends the repository is whole
  const subprocess = execa(file, args, { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', buffer: false });
  let failure: string | undefined;
  const lines = subprocess.stderr === null
    ? Promise.resolve()
    : readLines(subprocess.stderr, (line) => {
        const verdict = /^dom0-receiver: (clean (?:failed|incomplete): .*)$/.exec(line)?.[1];
        if (verdict !== undefined) failure = verdict;
        onLine(line);
      });
  const [result] = await Promise.all([subprocess, lines]);
  interrupt.throwIfInterrupted();
  if (result.exitCode === 0) return;
  const command = config.receiverCommand.join(' ');
  if (result.exitCode === undefined && result.signal === undefined) {
    throw new ReceiverError('CLEAN_FAILED', `cannot start dom0's receiver ${command} to empty the cached repository: ${(result.shortMessage ?? '').split('\n')[0] ?? ''}`);
  }
  const how = result.exitCode === undefined ? `was killed by ${String(result.signal)}` : `exited with ${String(result.exitCode)}`;
  throw new ReceiverError('CLEAN_FAILED', `emptying the cached repository failed: dom0's receiver ${how}${failure === undefined ? '' : ` (${failure})`}; nothing was asked of the UpdateVM`);
}
