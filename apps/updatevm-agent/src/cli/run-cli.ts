import type { Readable, Writable } from 'node:stream';
import { performDownload } from '../commands/download.ts';
import { runFromDom0, syncState } from '../commands/sync.ts';
import { AgentError } from '../errors.ts';
import { ExitCode } from '../exit-code.ts';
import { workdirLayout } from '../installroot/paths.ts';
import { asWorkdirError } from '../installroot/workdir-fs.ts';
import { createReporter, type Reporter } from '../progress/reporter.ts';
import { sanitize } from '../text.ts';
import { parseArgs, type Command } from './args.ts';
import { HELP, VERSION } from './help.ts';
import { Interruption } from './interruption.ts';

export interface CliStreams {
  readonly stdin: Readable;
  readonly stdout: Writable & { readonly isTTY?: boolean };
  readonly stderr: Writable;
}

async function execute(
  command: Exclude<Command, { kind: 'help' | 'version' }>,
  reporter: Reporter,
  stdin: Readable,
  interruption: Interruption,
): Promise<ExitCode> {
  const ctx = { layout: workdirLayout(command.options.workdir), reporter, interruption, dnfLimits: command.options.dnfLimits };
  try {
    switch (command.kind) {
      case 'sync-state':
        return await syncState(ctx, stdin);
      case 'run':
        return await runFromDom0(ctx, stdin, command.transport);
      case 'download':
        return await performDownload(ctx, command.request, command.transport);
    }
  } catch (error) {
    throw asWorkdirError(error, command.options.workdir);
  }
}

/** Parses argv, runs the command and turns every failure into a clear message and an exit code. */
export async function runCli(argv: readonly string[], io: CliStreams): Promise<ExitCode> {
  let command: Command;
  try {
    command = parseArgs(argv);
  } catch (error) {
    if (error instanceof AgentError) {
      // the line every failure ends with; the pointer to --help goes inside it to keep it last
      io.stderr.write(`updatevm-agent: error: ${error.message}; try "updatevm-agent --help" [${error.code}]\n`);
      return error.exitCode;
    }
    throw error;
  }
  if (command.kind === 'help') {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (command.kind === 'version') {
    io.stdout.write(`updatevm-agent ${VERSION}\n`);
    return ExitCode.ok;
  }
  const reporter = createReporter(command.options.jsonProgress ? 'json' : io.stdout.isTTY === true ? 'tty' : 'plain', io.stdout);
  const interruption = new Interruption();
  try {
    return await execute(command, reporter, io.stdin, interruption);
  } catch (error) {
    const agentError =
      error instanceof AgentError
        ? error
        : new AgentError('INTERNAL', error instanceof Error ? sanitize(error.message) : sanitize(String(error)));
    reporter.report({
      stage: 'done',
      result: 'error',
      code: agentError.code,
      message: agentError.message,
      ...('member' in agentError && typeof agentError.member === 'string' ? { member: agentError.member } : {}),
    });
    reporter.close();
    // the code ends the first line, which says what failed; dnf's own lines follow, indented
    const [first = '', ...detail] = agentError.message.split('\n');
    io.stderr.write(`updatevm-agent: error: ${first} [${agentError.code}]\n${detail.map((line) => `  ${line}\n`).join('')}`);
    return agentError.exitCode;
  } finally {
    interruption.dispose();
    reporter.close();
  }
}
