import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE, VERSION } from './cli/args.ts';
import { UsageError } from './errors.ts';
import { diagnose } from './output/diagnostics.ts';
import { receiveCommand } from './receive/receive-command.ts';
import { stageMain } from './stage/stage-main.ts';
import { verifyCommand } from './verify/verify-command.ts';

/** A write to stdout that failed for another reason than a reader that went away. */
let stdoutFailure: NodeJS.ErrnoException | undefined;

async function main(argv: readonly string[]): Promise<number> {
  // a reader that went away (EPIPE) must not kill the receiver halfway through publishing or
  // recording: the reply and the diagnostics are best effort, the result record is the truth
  process.stderr.on('error', () => undefined);
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') stdoutFailure ??= error;
  });
  let args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    diagnose(error.message);
    process.stderr.write(USAGE);
    return 2;
  }
  switch (args.command) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
      process.stdout.write(`dom0-receiver ${VERSION}\n`);
      return 0;
    case 'verify':
      return verifyCommand(args);
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

main(process.argv.slice(2)).then(
  (code) => {
    // the stage keeps running on its IPC channel and exits by itself
    if (code < 0) return;
    process.exitCode = code;
    // a failed write reports its error a turn later; `verify`'s verdicts are its output, so one
    // that could not be written (a full disk) makes it fail
    setImmediate(() => {
      if (stdoutFailure === undefined || code !== 0 || process.argv[2] === 'receive') return;
      diagnose(`cannot write to standard output: ${stdoutFailure.message}`);
      process.exitCode = 1;
    });
  },
  (error: unknown) => {
    diagnose(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
