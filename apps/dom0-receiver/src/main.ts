import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterDelay } from '@dom0-updates/protocol';
import { parseArgs, STAGE_COMMAND, usageAfterError, usageOf, VERSION } from './cli/args.ts';
import { UsageError } from './errors.ts';
import { diagnose } from './output/diagnostics.ts';
import { replyDropped } from './output/reply.ts';
import { favourMemoryOverSpeed } from './config/memory.ts';
import { writeResultOutput } from './output/stdout.ts';
import { receiveCommand } from './receive/receive-command.ts';
import { cleanCommand } from './clean/clean-command.ts';
import { stageMain } from './stage/stage-main.ts';
import { verifyCommand } from './verify/verify-command.ts';

async function main(argv: readonly string[]): Promise<number> {
  // the stage has it on its command line (stage-process.ts)
  if (argv[0] !== STAGE_COMMAND) favourMemoryOverSpeed();
  // a reader that went away (EPIPE) must not kill the receiver halfway through publishing or
  // recording: the reply and the diagnostics are best effort, the result record is the truth
  // (output that is the result itself goes through writeResultOutput, which reports failures)
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  // the modes the README gives (0755 directories, 0644 published files) whatever the caller's
  // umask: under 077 the stage's uid could not reach its staging dir, and the sandbox was given up
  process.umask(0o022);
  let args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    diagnose(error.message);
    process.stderr.write(usageAfterError(argv));
    return 2;
  }
  switch (args.command) {
    case 'help':
      return (await writeResultOutput(usageOf(args.topic))) ? 0 : 1;
    case 'version':
      return (await writeResultOutput(`dom0-receiver ${VERSION}\n`)) ? 0 : 1;
    case 'verify':
      return verifyCommand(args);
    case 'clean':
      return cleanCommand(args);
    case 'stage':
      stageMain();
      return -1;
    case 'receive':
      try {
        return await receiveCommand(args, { bundlePath: realpathSync(fileURLToPath(import.meta.url)), env: process.env });
      } catch (error) {
        if (error instanceof UsageError) {
          diagnose(error.message);
          return 2;
        }
        throw error;
      }
  }
}

/** Resolves once stderr has written what was queued on it, or after `ms`. */
function stderrFlushed(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const cancel = afterDelay(ms, resolve);
    process.stderr.write('', () => {
      cancel();
      resolve();
    });
  });
}

/**
 * A reply the sender never took is still queued on stdout and would keep the process alive:
 * everything else is done (lock released, staging removed), so the process ends here.
 */
async function endIfReplyDropped(): Promise<void> {
  if (!replyDropped()) return;
  await stderrFlushed(1000);
  process.exit();
}

main(process.argv.slice(2)).then(
  async (code) => {
    // the stage keeps running on its channel and exits by itself
    if (code >= 0) process.exitCode = code;
    await endIfReplyDropped();
  },
  async (error: unknown) => {
    diagnose(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
    await endIfReplyDropped();
  },
);
