import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodeUpdateStream, EncodeError, SERVICE_CALL } from '@dom0-updates/protocol';
import { execa } from 'execa';
import { ExitCode } from '../exit-code.ts';
import { AgentError, DiskFullError, isNoSpace, TransportError } from '../errors.ts';
import type { TransportSpec } from '../cli/args.ts';
import type { Reporter } from '../progress/reporter.ts';
import { sanitize, sanitizeLines } from '../text.ts';
import { stopOptions, trackChild, type ChildStop } from '../cli/child-stop.ts';
import { openFdChannel, readReply } from './fd-channel.ts';

/** A downloaded package about to be sent: its flat file name and where it is on disk. */
export interface OutgoingPackage {
  readonly name: string;
  readonly path: string;
  readonly size: number;
}

/** What came back from the receiver: its raw reply bytes and how the transport process ended. */
export interface TransportResult {
  readonly reply: Uint8Array;
  readonly exitCode: number;
  readonly stderr: string;
}

const BLOCK = 512;
const MAX_REPLY_BYTES = 1024 * 1024;

/** The exact ustar size, so progress can be a real percentage. */
function streamSize(packages: readonly OutgoingPackage[]): number {
  return packages.reduce((sum, p) => sum + BLOCK + Math.ceil(p.size / BLOCK) * BLOCK, 2 * BLOCK);
}

/** qrexec calls dom0's service by name; local runs the configured receiver argv directly. */
export function transportArgv(transport: Exclude<TransportSpec, { kind: 'fd' }>): readonly [string, ...string[]] {
  return transport.kind === 'qrexec' ? ['qrexec-client-vm', 'dom0', SERVICE_CALL] : transport.argv;
}

/** Writes the stream and its byte count as progress; resolves with the encoder's error, if any. */
async function encodeWithProgress(
  packages: readonly OutgoingPackage[],
  out: NodeJS.WritableStream,
  reporter: Reporter,
  cancel: AbortSignal | undefined,
): Promise<{ encodeError: unknown }> {
  const total = streamSize(packages);
  const counter = new Counter((bytes) =>
    reporter.report({ stage: 'send', bytes, total, percent: Math.min(100, Math.floor((bytes * 100) / total)) }),
  );
  // a stopped run stops sending: dom0's receiver sees the stream cut short and publishes nothing
  const onAbort = (): void => {
    counter.destroy(cancel?.reason instanceof Error ? cancel.reason : new Error('stopped'));
  };
  cancel?.addEventListener('abort', onAbort, { once: true });
  // A receiver that rejects early stops reading; the write error is expected then and the reply
  // explains it, so both sides are awaited before deciding what happened.
  const piping = pipeline(counter, out).then(
    () => undefined,
    (error: unknown) => error,
  );
  const encoding = encodeUpdateStream(
    packages.map((p) => ({ name: p.name, path: p.path })),
    counter,
  ).then(
    () => undefined,
    (error: unknown) => {
      counter.destroy();
      return error;
    },
  );
  const [encodeError] = await Promise.all([encoding, piping]);
  cancel?.removeEventListener('abort', onAbort);
  return { encodeError };
}

function encodeFailure(encodeError: unknown): AgentError | undefined {
  if (encodeError instanceof EncodeError && encodeError.code !== 'ENCODE_OUTPUT_CLOSED') {
    return new AgentError(encodeError.code, `could not encode the update stream: ${encodeError.message}`);
  }
  if (isNoSpace(encodeError)) return new DiskFullError('disk full while sending the update stream');
  return undefined;
}

/** The fd transport: the stream to fd 3, then dom0's reply from fd 4 once dom0 closes it. */
async function sendOverFds(packages: readonly OutgoingPackage[], reporter: Reporter, stop: ChildStop | undefined): Promise<TransportResult> {
  const channel = openFdChannel();
  channel.stream.on('error', () => undefined);
  const replying = readReply(channel.reply, MAX_REPLY_BYTES);
  const { encodeError } = await encodeWithProgress(packages, channel.stream, reporter, stop?.signal);
  channel.stream.destroy();
  // stopped, while sending or waiting for the reply: dom0's verdict on a cut stream is not waited for
  const stopped = new Promise<never>((_resolve, reject) => {
    const signal = stop?.signal;
    if (signal === undefined) return;
    const onAbort = (): void => {
      channel.reply.destroy();
      reject(signal.reason instanceof Error ? signal.reason : new Error('stopped'));
    };
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      const forget = (): void => signal.removeEventListener('abort', onAbort);
      replying.then(forget, forget);
    }
  });
  const reply = await Promise.race([replying, stopped]);
  const failure = encodeFailure(encodeError);
  if (failure !== undefined) throw failure;
  if (reply.byteLength === 0) {
    throw new TransportError('NO_REPLY', 'dom0 sent no reply on fd 4 (its receiver failed, or dom0-update gave up)');
  }
  return { reply, exitCode: 0, stderr: '' };
}

class Counter extends Transform {
  bytes = 0;
  constructor(private readonly onBytes: (bytes: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.byteLength;
    this.onBytes(this.bytes);
    done(null, chunk);
  }
}

/**
 * Streams `packages` to dom0 as the protocol's update stream through the chosen transport and
 * returns the receiver's reply. Transport-level failures (nothing to read a reply from) throw.
 */
export async function sendUpdates(
  transport: TransportSpec,
  packages: readonly OutgoingPackage[],
  reporter: Reporter,
  stop?: ChildStop,
): Promise<TransportResult> {
  if (transport.kind === 'fd') return sendOverFds(packages, reporter, stop);
  const [file, ...args] = transportArgv(transport);
  const cancel = stop?.signal;
  const sub = execa(file, args, {
    stdin: 'pipe',
    encoding: 'buffer',
    // The reply's framing (exactly one line ending in \n) is part of the protocol: keep it intact.
    stripFinalNewline: false,
    reject: false,
    maxBuffer: { stdout: MAX_REPLY_BYTES, stderr: MAX_REPLY_BYTES },
    ...stopOptions(stop),
  });
  trackChild(sub, stop);
  const { encodeError } = await encodeWithProgress(packages, sub.stdin, reporter, cancel);
  const result = await sub;
  if (cancel?.aborted === true) throw cancel.reason;
  const stderr = result.stderr instanceof Uint8Array ? Buffer.from(result.stderr).toString('utf8') : '';

  if (result.exitCode === undefined) {
    const what = transport.kind === 'qrexec' ? 'qrexec-client-vm (is this a Qubes UpdateVM?)' : `receiver ${sanitize(file)}`;
    throw new TransportError(
      result.code === 'ENOENT' ? 'TRANSPORT_MISSING' : 'TRANSPORT_FAILED',
      // execa's first line names the command and the errno; the rest repeats it
      `could not start ${what}: ${sanitize((result.shortMessage ?? String(result.code)).split('\n')[0] ?? '')}`,
    );
  }
  if (transport.kind === 'qrexec' && result.exitCode === ExitCode.policyDenied) {
    throw new TransportError(
      'POLICY_DENIED',
      `dom0's qrexec policy denied ${SERVICE_CALL} from this VM (is it the configured UpdateVM?)`,
      ExitCode.policyDenied,
    );
  }
  const reply = result.stdout instanceof Uint8Array ? result.stdout : new Uint8Array();
  // A receiver that stopped reading (it rejected early) closes the output; its reply says why.
  const failure = encodeFailure(encodeError);
  if (failure !== undefined) throw failure;
  if (reply.byteLength === 0) {
    throw new TransportError(
      'NO_REPLY',
      `dom0 sent no reply (transport exit ${result.exitCode}): dom0's receiver failed before it replied; its error is in what the transport printed (below, when it printed anything), in dom0-update's output, or in dom0's log (qubes.ReceiveUpdates under qrexec)${stderr.trim() === '' ? '' : `\n${sanitizeLines(stderr, 8)}`}`,
    );
  }
  return { reply, exitCode: result.exitCode, stderr };
}
