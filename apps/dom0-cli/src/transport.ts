/**
 * Starts the agent in the UpdateVM and feeds it the state-sync stream on stdin. The agent's
 * command line is fixed by dom0's configuration: user input travels only inside request.json.
 * - qrexec: `qvm-run --pass-io --no-gui --user=root <vm> '<fixed command>'`;
 * - local: the agent as a child process, told how to start the receiver.
 * The agent's output is untrusted: it is only shown (sanitised), never used for a decision,
 * except for its exit code (which it could fake only to its own detriment, see run.ts).
 */
import type { Writable } from 'node:stream';
import { execa } from 'execa';
import type { Config } from './config.ts';
import { AgentError, EXIT, TransportError } from './errors.ts';

export type AgentOutcome = 'ok' | 'updates-available';

export interface AgentRun {
  readonly file: string;
  readonly args: readonly string[];
}

/** What the receiver is told: the same limits and keys as the qrexec service in deploy/. */
export function receiverArgv(config: Config): string[] {
  return [
    ...config.receiverCommand,
    'receive',
    '--updates-dir',
    config.updatesDir,
    ...config.keyring.flatMap((k) => ['--keyring', k]),
    '--max-files',
    String(config.maxFiles),
    '--max-bytes',
    String(config.maxBytes),
    '--timeout',
    String(config.timeoutSeconds),
  ];
}

export function agentRun(config: Config, updateVm: string): AgentRun {
  const workdir = config.agentWorkdir === undefined ? [] : ['--workdir', config.agentWorkdir];
  if (config.transport === 'local') {
    const [file = '', ...rest] = config.agentCommand;
    return {
      file,
      args: [...rest, 'run', '--transport', 'local', '--receiver-command', JSON.stringify(receiverArgv(config)), ...workdir],
    };
  }
  const remote = [...config.agentCommand, 'run', '--transport', 'qrexec', ...workdir];
  return { file: 'qvm-run', args: ['--pass-io', '--no-gui', '--user=root', updateVm, remote.map(shellQuote).join(' ')] };
}

/** Quotes one word for the UpdateVM's shell; only dom0's own configuration is quoted here. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The agent gets TIMEOUT plus this grace: the receiver enforces TIMEOUT itself, so a stalled sender
 * ends with dom0's own verdict (TAR_TIMEOUT) rather than with the agent being killed first.
 */
export function agentDeadlineSeconds(timeoutSeconds: number): number {
  return timeoutSeconds + Math.min(60, Math.max(5, Math.ceil(timeoutSeconds / 10)));
}

/** The most the agent may print before the rest is dropped (it must not flood dom0's terminal). */
const MAX_OUTPUT_LINES = 5000;

export async function runAgent(
  run: AgentRun,
  options: {
    readonly timeoutSeconds: number;
    readonly sendState: (stdin: Writable) => Promise<void>;
    readonly onLine: (line: string) => void;
    readonly onDropped: () => void;
  },
): Promise<{ exitCode: number }> {
  let lines = 0;
  // Its own process group, so a timeout ends the agent and everything it started (dnf, a
  // receiver, a stray `sleep` holding our pipes open), not just the direct child.
  const child = execa(run.file, run.args, {
    reject: false,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    detached: true,
  });
  let timedOut = false;
  let hardKill: NodeJS.Timeout | undefined;
  const killGroup = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  const deadline = setTimeout(() => {
    timedOut = true;
    killGroup('SIGTERM');
    hardKill = setTimeout(() => killGroup('SIGKILL'), 5000);
  }, agentDeadlineSeconds(options.timeoutSeconds) * 1000);

  const onLine = (line: string): void => {
    lines += 1;
    if (lines <= MAX_OUTPUT_LINES) options.onLine(line);
    else if (lines === MAX_OUTPUT_LINES + 1) options.onDropped();
  };
  const { stdin, stdout, stderr } = child;
  const reading = Promise.all([readLines(stdout, onLine), readLines(stderr, onLine)]);
  // An agent that exits early closes its stdin: that is reported through its exit code.
  stdin.on('error', () => undefined);
  let sendError: unknown;
  const sending = options.sendState(stdin).catch((error: unknown) => {
    sendError = error;
    stdin.destroy();
  });
  let result;
  try {
    // The deadline covers the pipes too: a run is over when its output has ended.
    [result] = await Promise.all([child, Promise.allSettled([reading, sending])]);
  } finally {
    clearTimeout(deadline);
    clearTimeout(hardKill);
  }

  if (timedOut) {
    throw new AgentError('AGENT_TIMEOUT', `the UpdateVM did not finish within ${agentDeadlineSeconds(options.timeoutSeconds)} s (TIMEOUT plus a grace for dom0's receiver to give its own verdict)`);
  }
  if (result.failed && result.exitCode === undefined) {
    const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' || code === 'EACCES') {
      throw new TransportError('TRANSPORT_SPAWN', `cannot start ${run.file}: ${result.shortMessage}`, EXIT.transport);
    }
    throw new TransportError('TRANSPORT_FAILED', `the agent ended abnormally: ${result.shortMessage}`, EXIT.transport);
  }
  const exitCode = result.exitCode ?? 1;
  if (exitCode === 0 && sendError !== undefined) {
    const why = sendError instanceof Error ? sendError.message : 'unknown error';
    throw new TransportError('TRANSPORT_STATE_SYNC', `sending dom0's state failed: ${why}`, EXIT.transport);
  }
  return { exitCode };
}

/** Longest line kept from the agent; a hostile agent's endless line is cut, never buffered whole. */
const MAX_LINE = 2000;

async function readLines(stream: AsyncIterable<unknown>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let pending = '';
  let overlong = false;
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk as Uint8Array, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      if (!overlong) onLine(pending.slice(0, newline));
      overlong = false;
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    if (pending.length > MAX_LINE) {
      if (!overlong) onLine(`${pending.slice(0, MAX_LINE)} [line cut]`);
      overlong = true;
      pending = '';
    }
  }
  pending += decoder.decode();
  if (pending !== '' && !overlong) onLine(pending);
}
