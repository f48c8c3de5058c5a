/**
 * Runs the agent (directly, or qvm-run for it), feeds it the state-sync stream on stdin and, for
 * the local transport, links its fds 3 and 4 to a receiver dom0 starts itself. The agent's output
 * is untrusted: it is only shown (sanitised), never used for a decision, except for its exit code
 * (which it could fake only to its own detriment, see run.ts).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { afterDelay, EncodeError } from '@dom0-updates/protocol';
import { AgentError, EXIT, StateError, TransportError } from './errors.ts';
import { NEVER_INTERRUPTED, interruptedError, type Interrupt, type InterruptSignal } from './interrupt.ts';
import { readLines, type KeepLine } from './output-lines.ts';
import { dropPipes, signalGroup } from './process-group.ts';
import { linkReceiver, type ReceiverLink, type ReceiverOutcome } from './receiver-link.ts';
import { agentDeadlineSeconds, type AgentRun } from './transport.ts';

/** The agent's fds for the local transport: the update stream out of it, dom0's reply into it. */
const STREAM_FD = 3;
const REPLY_FD = 4;

/** The most the agent may print before the rest is dropped (it must not flood dom0's terminal). */
const MAX_OUTPUT_LINES = 5000;
/**
 * The most the agent may print at all, stdout and stderr together. A real agent prints a few lines
 * per package (a few MiB for the largest batch); past this it is flooding dom0, and is stopped.
 */
const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
/** The agent's own error line, read even past the cap on shown lines (reporter.ts). */
const AGENT_ERROR_PREFIX = Buffer.from('updatevm-agent: error: ');
/** After SIGTERM, how long the agent's process group gets before SIGKILL. */
const KILL_GRACE_MS = 5000;
/** The same for dom0's receiver, which may be finishing a publication. */
const RECEIVER_KILL_GRACE_MS = 60_000;
/** When a receiver still running after the stop is said, so a long grace is not a silent one. */
const RECEIVER_NOTICE_MS = 5000;
/**
 * Once the agent has exited, how long its pipes may stay open (what it wrote before exiting is
 * read well within this). After that, a process it left behind is a stray: it would otherwise
 * hold a successful run until the deadline.
 */
const STRAY_GRACE_MS = 2000;
/**
 * How long the agent may say nothing before dom0-update says it is still waiting, and how often
 * after that: a stalled or hostile agent is stopped only at the deadline, which may be an hour off.
 */
const SILENCE_NOTICE_MS = 60_000;
const SILENCE_REPEAT_MS = 300_000;

export interface ReceiverSpec {
  readonly argv: readonly string[];
  readonly onLine: (line: string) => void;
}

export interface AgentOptions {
  readonly timeoutSeconds: number;
  readonly sendState: (stdin: Writable) => Promise<void>;
  /** Every line the agent prints; `shown` is false past the cap (read, not shown). */
  readonly onLine: (line: string, shown: boolean) => void;
  readonly onDropped: () => void;
  /** Local transport for a batch: dom0's receiver, started when the agent's stream begins. */
  readonly receiver?: ReceiverSpec | undefined;
  /** SIGINT/SIGTERM/SIGHUP to dom0-update: handed on to both process groups. */
  readonly interrupt?: Interrupt | undefined;
  /** A signal came again: both groups are being killed at once, without their grace. */
  readonly onKillNow?: ((signal: InterruptSignal) => void) | undefined;
  /**
   * The run is being stopped and dom0's receiver is still at work RECEIVER_NOTICE_MS later: it
   * gets `secondsLeft` more before SIGKILL. `bySignal`: a signal stopped the run (another one kills now).
   */
  readonly onReceiverStillRunning?: ((secondsLeft: number, bySignal: boolean) => void) | undefined;
  /** The agent has printed nothing for `quietSeconds`; the deadline stops it in `secondsLeft`. */
  readonly onSilence?: ((quietSeconds: number, secondsLeft: number) => void) | undefined;
  /** When the first such notice comes (SILENCE_NOTICE_MS; tests shorten it). */
  readonly silenceNoticeMs?: number | undefined;
}

export interface AgentResult {
  readonly exitCode: number;
  readonly receiver: ReceiverOutcome;
}

type Exit = { readonly code: number | null; readonly signal: NodeJS.Signals | null } | { readonly error: NodeJS.ErrnoException };

export async function runAgent(run: AgentRun, options: AgentOptions): Promise<AgentResult> {
  options.interrupt?.throwIfInterrupted();
  // fds 3 and 4 exist only when a receiver is linked; otherwise the agent has nowhere to send.
  const stdio: StdioOptions = options.receiver === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'];
  // Its own process group, so a timeout ends the agent and everything it started (dnf, a stray
  // `sleep` holding our pipes open), not just the direct child.
  const child = spawn(run.file, run.args, { stdio, detached: true });
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  let link: ReceiverLink | undefined;
  const streamIn = child.stdio[STREAM_FD] as Readable | null | undefined;
  const replyOut = child.stdio[REPLY_FD] as Writable | null | undefined;
  if (options.receiver !== undefined && streamIn && replyOut) {
    link = linkReceiver(options.receiver.argv, streamIn, replyOut, options.receiver.onLine);
  }

  const interrupt = options.interrupt ?? NEVER_INTERRUPTED;
  const stopper = superviseStop(child, link, exited, options, interrupt);
  // what the agent was at when the deadline came: its last line shown (past the cap on lines,
  // its last error line), already sanitised and cut by readLines; not its answer to the stop signal
  let lastLine: string | undefined;
  let agentExited = false;
  void exited.then(() => {
    agentExited = true;
  });
  const silence = watchSilence(options, () => !agentExited && interrupt.signal === undefined && !stopper.timedOut() && !stopper.flooded());
  const reading = readOutput(child, options, () => stopper.flood(), (line) => {
    silence.heard();
    if (line.trim() !== '' && !stopper.timedOut()) lastLine = line;
  });
  const sending = sendState(child, options);
  let exit: Exit;
  let receiver: ReceiverOutcome;
  try {
    // The deadline covers the pipes and the receiver too: a run is over when all of them have ended.
    [exit, , , receiver] = await Promise.all([exited, reading, sending.done, link?.done ?? Promise.resolve({ kind: 'not-started' } as const)]);
  } finally {
    silence.dispose();
    stopper.dispose();
    // The agent has ended, and the receiver with its reply. Whatever the agent left in its group
    // is a stray; and a pipe end still open (a child of the agent holding fd 4, even one that left
    // the group) would keep dom0-update from exiting after its verdict.
    signalGroup(child, 'SIGKILL');
    link?.abort();
  }

  if (interrupt.signal !== undefined) {
    // a check, or qrexec (whose daemon starts the receiver), has no receiver of dom0-update's own
    const stopped = link === undefined ? "the UpdateVM's agent was stopped" : "the UpdateVM's agent and dom0's receiver were stopped";
    throw interruptedError(interrupt.signal, `${stopped}; nothing was installed`);
  }
  if (stopper.flooded()) {
    throw new AgentError('AGENT_OUTPUT_FLOOD', `the UpdateVM printed more than ${String(MAX_OUTPUT_BYTES / 1024 / 1024)} MiB and was stopped; nothing was installed`);
  }
  if (stopper.timedOut()) {
    const last = lastLine === undefined ? 'it printed nothing' : `its last line shown: "${lastLine.trim()}"`;
    // a check (no receiver) downloads only metadata; a download run loses what it fetched
    const covers = link === undefined ? 'the deadline covers reading the repositories too' : 'the deadline covers the download too, and what was downloaded is not kept';
    throw new AgentError(
      'AGENT_TIMEOUT',
      `the UpdateVM did not finish within ${agentDeadlineSeconds(options.timeoutSeconds)} s (TIMEOUT plus a grace${link === undefined ? '' : " for dom0's receiver to give its own verdict"}); ${last}; ` +
        `${covers}: on a slow link raise TIMEOUT in dom0's configuration (or --timeout=)`,
    );
  }
  return { exitCode: exitCodeOf(run, exit, sending.error()), receiver };
}

interface Stopper {
  /** Whether the deadline stopped the run. */
  timedOut(): boolean;
  /** The agent printed more than MAX_OUTPUT_BYTES: stop the run as for the deadline. */
  flood(): void;
  /** Whether flood() stopped the run. */
  flooded(): boolean;
  /** The run has ended: no more timers or signal listeners. */
  dispose(): void;
}

/**
 * The deadline, an interrupt and an agent that exited while its pipes stay open all end the run:
 * a signal to both process groups first, SIGKILL after a grace.
 */
function superviseStop(
  child: ChildProcess,
  link: ReceiverLink | undefined,
  exited: Promise<Exit>,
  options: AgentOptions,
  interrupt: Interrupt,
): Stopper {
  let timedOut = false;
  let flooded = false;
  let ended = false;
  let hardKill: NodeJS.Timeout | undefined;
  let receiverKill: NodeJS.Timeout | undefined;
  let strayKill: NodeJS.Timeout | undefined;
  let receiverNotice: NodeJS.Timeout | undefined;
  let receiverEnded = false;
  void link?.done.then(() => {
    receiverEnded = true;
  });
  const killAgentNow = (): void => {
    signalGroup(child, 'SIGKILL');
    dropPipes(child);
  };
  const killReceiverNow = (): void => {
    link?.kill('SIGKILL');
    link?.abort();
  };
  const stop = (signal: NodeJS.Signals, bySignal = false): void => {
    if (hardKill !== undefined) return;
    signalGroup(child, signal);
    link?.kill(signal);
    hardKill = setTimeout(killAgentNow, KILL_GRACE_MS);
    // dom0's receiver stops its stage and cleans up by itself after a signal, and finishes a
    // publication already under way (atomic, but not instant for a large batch): it gets longer.
    receiverKill = setTimeout(killReceiverNow, RECEIVER_KILL_GRACE_MS);
    if (link !== undefined) {
      receiverNotice = setTimeout(() => {
        if (!receiverEnded && !ended) options.onReceiverStillRunning?.((RECEIVER_KILL_GRACE_MS - RECEIVER_NOTICE_MS) / 1000, bySignal);
      }, RECEIVER_NOTICE_MS);
    }
  };
  void exited.then(() => {
    if (ended) return;
    strayKill = setTimeout(() => {
      killAgentNow();
      // a stray that left the group may hold fds 3 and 4, never writing, never reading
      link?.agentGone();
    }, STRAY_GRACE_MS);
  });
  // afterDelay: a TIMEOUT of weeks is more than setTimeout can wait in one go
  const cancelDeadline = afterDelay(agentDeadlineSeconds(options.timeoutSeconds) * 1000, () => {
    timedOut = true;
    stop('SIGTERM');
  });
  // A Ctrl-C on dom0's terminal reaches neither group by itself (they are detached): hand it on.
  const unsubscribe = interrupt.onSignal((signal) => {
    stop(signal, true);
  });
  // Pressed again: the user will not wait out the graces. Killing is safe for dom0: the receiver's
  // publication is atomic, and its next run clears what a killed one left. A hang-up (a closed
  // terminal after the Ctrl-C) is nobody asking to hurry, so it does not count.
  const unsubscribeRepeat = interrupt.onRepeat((signal) => {
    if (signal === 'SIGHUP') return;
    options.onKillNow?.(signal);
    clearTimeout(hardKill);
    clearTimeout(receiverKill);
    clearTimeout(receiverNotice);
    killAgentNow();
    killReceiverNow();
  });
  return {
    timedOut: () => timedOut,
    flood: () => {
      flooded = true;
      stop('SIGTERM');
    },
    flooded: () => flooded,
    dispose: () => {
      ended = true;
      unsubscribe();
      unsubscribeRepeat();
      cancelDeadline();
      clearTimeout(strayKill);
      clearTimeout(hardKill);
      clearTimeout(receiverKill);
      clearTimeout(receiverNotice);
    },
  };
}

/**
 * Calls onSilence when the agent has been quiet SILENCE_NOTICE_MS, and again every
 * SILENCE_REPEAT_MS it stays so, while `waitingOnAgent` says the run waits on the agent itself (not
 * once it has exited, or is being stopped, which is said otherwise).
 */
function watchSilence(options: AgentOptions, waitingOnAgent: () => boolean): { heard: () => void; dispose: () => void } {
  const started = Date.now();
  const first = options.silenceNoticeMs ?? SILENCE_NOTICE_MS;
  let lastWord = started;
  let toldAt = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    const quiet = now - lastWord;
    if (!waitingOnAgent() || quiet < (toldAt === 0 ? first : toldAt + SILENCE_REPEAT_MS)) return;
    toldAt = quiet;
    const left = Math.max(0, agentDeadlineSeconds(options.timeoutSeconds) - Math.floor((now - started) / 1000));
    options.onSilence?.(Math.floor(quiet / 1000), left);
  }, Math.min(1000, first));
  timer.unref();
  return {
    heard: () => {
      lastWord = Date.now();
      toldAt = 0;
    },
    dispose: () => clearInterval(timer),
  };
}

/**
 * Reads the agent's stdout and stderr line by line, showing no more than MAX_OUTPUT_LINES; past
 * those only its own error lines are read. More than MAX_OUTPUT_BYTES in all calls `onFlood` and
 * closes both pipes.
 */
async function readOutput(child: ChildProcess, options: AgentOptions, onFlood: () => void, onAnyLine: (line: string) => void): Promise<void> {
  let lines = 0;
  let left = MAX_OUTPUT_BYTES;
  const onLine = (line: string): void => {
    lines += 1;
    onAnyLine(line);
    options.onLine(line, lines <= MAX_OUTPUT_LINES);
  };
  const keep: KeepLine = (bytes, start, end) => {
    if (lines < MAX_OUTPUT_LINES) return true;
    if (lines === MAX_OUTPUT_LINES) {
      lines += 1;
      options.onDropped();
    }
    const prefix = AGENT_ERROR_PREFIX.length;
    return end - start >= prefix && AGENT_ERROR_PREFIX.compare(bytes, start, start + prefix) === 0;
  };
  async function* counted(stream: Readable): AsyncGenerator<Uint8Array> {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      left -= chunk.length;
      // leaving the loop destroys the stream: the agent's next write fails
      if (left < 0) return onFlood();
      yield chunk;
    }
  }
  const streams = [child.stdout, child.stderr].filter((s): s is Readable => s !== null);
  await Promise.all(streams.map((s) => readLines(counted(s), onLine, keep).catch(() => undefined)));
}

function sendState(child: ChildProcess, options: AgentOptions): { readonly done: Promise<void>; error(): unknown } {
  const stdin = child.stdin;
  let sendError: unknown;
  if (!stdin) return { done: Promise.resolve(), error: () => undefined };
  // An agent that exits early closes its stdin: that is reported through its exit code.
  stdin.on('error', () => undefined);
  const done = options.sendState(stdin).catch((error: unknown) => {
    sendError = error;
    stdin.destroy();
  });
  return { done, error: () => sendError };
}

/** The agent's exit code, or the transport's failure when it has none (or dom0's send failed). */
function exitCodeOf(run: AgentRun, exit: Exit, sendError: unknown): number {
  // dom0 could not read one of its own files (EACCES, a FIFO swapped in, a database that grew while
  // it was sent): the stream was cut by dom0, whatever the agent made of that (a closed output is
  // the agent's end, below)
  if (sendError instanceof EncodeError && sendError.code !== 'ENCODE_OUTPUT_CLOSED') {
    throw new StateError('STATE_UNREADABLE', `dom0 could not send its state to the UpdateVM (${sendError.code}): ${sendError.message}`);
  }
  if ('error' in exit) {
    const code = exit.error.code;
    if (code === 'ENOENT' || code === 'EACCES') {
      // qvm-run exists only in a Qubes dom0; elsewhere the local transport is the one that works
      const hint = run.file === 'qvm-run' && code === 'ENOENT' ? ' (qvm-run is part of Qubes dom0: not a Qubes dom0? set TRANSPORT=local and AGENT_COMMAND)' : '';
      throw new TransportError('TRANSPORT_SPAWN', `cannot start ${run.file}: ${code}${hint}`, EXIT.transport);
    }
    throw new TransportError('TRANSPORT_FAILED', `the agent could not be run: ${exit.error.message}`, EXIT.transport);
  }
  if (exit.code === null) {
    throw new TransportError('TRANSPORT_FAILED', `the agent ended abnormally (${exit.signal ?? 'no exit code'})`, EXIT.transport);
  }
  // an answer (0: nothing to do, 100: updates available) given without dom0's state means nothing
  if ((exit.code === 0 || exit.code === 100) && sendError !== undefined) {
    const why = sendError instanceof Error ? sendError.message : 'unknown error';
    throw new TransportError('TRANSPORT_STATE_SYNC', `sending dom0's state failed: ${why}`, EXIT.transport);
  }
  return exit.code;
}
