import { AgentError } from './errors.ts';
import { ExitCode } from './exit-code.ts';
import { runCli } from './cli/run-cli.ts';

// The bundle's entry point: everything else lives in modules that tests can import.
process.exitCode = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
}).catch((error: unknown) => {
  process.stderr.write(`updatevm-agent: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
  return error instanceof AgentError ? error.exitCode : ExitCode.failure;
});
// The command is over: input dom0 has not finished sending (a run stopped mid-stream) must not
// keep the process alive; stdout and stderr still drain before it exits.
process.stdin.destroy();
