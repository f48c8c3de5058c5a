import { AgentError } from './errors.ts';
import { ExitCode } from './exit-code.ts';
import { runCli } from './cli/run-cli.ts';
import { sanitize } from './text.ts';

// A reader that went away (EPIPE) must not end the command with a stack trace; output lost for
// another reason (a full disk) makes a command that would have succeeded fail.
let lost: Error | undefined;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && stream === process.stdout) lost ??= error;
  });
}

// The bundle's entry point: everything else lives in modules that tests can import.
const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
}).catch((error: unknown) => {
  // runCli reports every failure of a command itself; one that escapes it is a bug, said the same way
  const [code, exit] = error instanceof AgentError ? [error.code, error.exitCode] : ['INTERNAL', ExitCode.failure];
  const message = sanitize(error instanceof Error ? error.message : String(error));
  process.stderr.write(`updatevm-agent: error: internal error: ${message} [${code}]\n`);
  return exit;
});
// a failed write to a file or device reports its error on a later tick
await new Promise((resolve) => setImmediate(resolve));
if (lost !== undefined) process.stderr.write(`updatevm-agent: error: cannot write to standard output: ${lost.message} [OUTPUT_FAILED]\n`);
process.exitCode = lost !== undefined && code === ExitCode.ok ? ExitCode.failure : code;
// The command is over: input dom0 has not finished sending (a run stopped mid-stream) must not
// keep the process alive; stdout and stderr still drain before it exits.
process.stdin.destroy();
