/**
 * The local transport's dom0 end, doing what dom0's qrexec daemon does for qubes.ReceiveUpdates:
 * dom0 starts its own receiver, with the command, keys and limits from dom0's configuration, and
 * the UpdateVM only ever holds the two ends of a pipe (its fd 3 for the update stream, its fd 4
 * for dom0's reply). The receiver starts when the first byte of a stream arrives, as a qrexec
 * service starts only when the UpdateVM calls it: an agent that sends nothing (no updates, or it
 * died first) starts no receiver and leaves no result record, whereas a receiver started on an
 * empty input would record a TAR_MISSING_END rejection for a run that simply had nothing to send.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { readLines } from './output-lines.ts';
import { dropPipes, signalGroup } from './process-group.ts';

export type ReceiverOutcome =
  /** The agent closed its stream without writing a byte: no receiver ran. */
  | { readonly kind: 'not-started' }
  | { readonly kind: 'spawn-failed'; readonly message: string }
  | { readonly kind: 'exited'; readonly exitCode: number | null; readonly signal: NodeJS.Signals | null };

export interface ReceiverLink {
  /** Settles once the receiver has ended and its reply has been handed on (or none was started). */
  readonly done: Promise<ReceiverOutcome>;
  /** Signals the receiver's whole process group (its stage child included). */
  kill(signal: NodeJS.Signals): void;
  /** Drops every pipe, so `done` settles even if a stray process still holds one open. */
  abort(): void;
  /**
   * The agent has exited, a grace ago: a stream that has not begun by now never will from it, so
   * no receiver may start, and its fds 3 and 4 are closed (a process it left behind may still hold
   * them). A stream under way is left to finish (what the agent wrote may still be in the pipe),
   * but the rest of the receiver's reply is dropped: only such a process could still read it, and
   * one that holds fd 4 without reading would hold the receiver, and the run, on a large reply.
   */
  agentGone(): void;
}

export function linkReceiver(
  argv: readonly string[],
  streamIn: Readable,
  replyOut: Writable,
  onLine: (line: string) => void,
): ReceiverLink {
  let child: ChildProcess | undefined;
  // Set when the run is being stopped before any byte arrived: no receiver may start after that.
  let stopped = false;
  let stopBeforeStart = (): void => undefined;
  let dropReplyNow = (): void => undefined;
  // The agent may leave at any time; writes of the reply to a closed pipe are not dom0's failure.
  replyOut.on('error', () => undefined);
  streamIn.on('error', () => undefined);

  const done = new Promise<ReceiverOutcome>((resolve) => {
    const noStream = (): void => {
      if (child !== undefined) return;
      replyOut.end();
      resolve({ kind: 'not-started' });
    };
    streamIn.once('end', noStream);
    streamIn.once('close', noStream);
    stopBeforeStart = () => {
      streamIn.destroy();
      noStream();
    };
    streamIn.once('data', (first: Buffer) => {
      streamIn.pause();
      if (stopped) {
        stopBeforeStart();
        return;
      }
      const [file = '', ...args] = argv;
      let rx: ChildProcess;
      try {
        rx = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      } catch (error) {
        // an argv spawn refuses outright (the config's parser lets none through): as a failed start
        streamIn.destroy();
        replyOut.end();
        resolve({ kind: 'spawn-failed', message: error instanceof Error ? error.message : String(error) });
        return;
      }
      child = rx;
      let settled = false;
      const settle = (outcome: ReceiverOutcome): void => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      rx.once('error', (error: NodeJS.ErrnoException) => {
        // Nothing reads the agent's stream any more: it gets EPIPE, and EOF where it waits for a reply.
        streamIn.destroy();
        replyOut.end();
        settle({ kind: 'spawn-failed', message: error.code ?? error.message });
      });
      const { stdin, stdout, stderr } = rx;
      if (stdin === null || stdout === null || stderr === null) throw new Error('the receiver has no pipes');
      stdin.on('error', () => undefined);
      // A receiver that stops reading (it rejected a member) closes its stdin: stop taking bytes
      // from the agent too, so a flooding sender is cut off rather than buffered.
      stdin.once('close', () => {
        streamIn.unpipe(stdin);
        streamIn.destroy();
      });
      stdin.write(first);
      streamIn.pipe(stdin);
      streamIn.resume();
      // An agent that left (or closed fd 4) takes no reply: pipe() then stops reading the
      // receiver's stdout, and a reply larger than the pipes would hold the receiver until the
      // deadline. The rest of the reply is read and dropped instead. The agent may have closed
      // fd 4 before its first byte, so the reply end can be gone already (its events long past).
      const dropReply = (): void => {
        stdout.unpipe(replyOut);
        stdout.resume();
      };
      dropReplyNow = dropReply;
      if (replyOut.writable) {
        stdout.pipe(replyOut);
        replyOut.once('error', dropReply);
        replyOut.once('close', dropReply);
      } else {
        dropReply();
      }
      const logging = readLines(stderr, onLine).catch(() => undefined);
      rx.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
        void logging.then(() => {
          replyOut.end();
          settle({ kind: 'exited', exitCode, signal });
        });
      });
    });
  });

  return {
    done,
    kill: (signal) => {
      if (child === undefined) {
        stopped = true;
        stopBeforeStart();
        return;
      }
      signalGroup(child, signal);
    },
    agentGone: () => {
      if (child !== undefined) {
        dropReplyNow();
        return;
      }
      stopped = true;
      stopBeforeStart();
    },
    abort: () => {
      streamIn.destroy();
      replyOut.destroy();
      if (child !== undefined) dropPipes(child);
    },
  };
}
