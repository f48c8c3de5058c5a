import { afterDelay, encodeReply, formatNevra, PROTOCOL_VERSION, type Reply } from '@dom0-updates/protocol';
import type { AcceptedPackage, Rejection } from '../publish/result-record.ts';

export function acceptedReply(packages: readonly AcceptedPackage[]): Reply {
  return {
    protocol: PROTOCOL_VERSION,
    status: 'accepted',
    packages: packages.map((p) => ({
      file: p.file as Reply['packages'][number]['file'],
      nevra: formatNevra(p.nevra.epoch === 0 ? { ...p.nevra, epoch: undefined } : p.nevra),
      sha256: p.sha256,
      signer: p.signer.fingerprint,
    })),
  };
}

/**
 * Rejections that are a verdict on what the sender sent (its stream, its packages, its call) or
 * that it caused (a stall, a signal): their reason goes back to it. Any other failure is dom0's
 * own (its configuration, keys, file systems, tools), and its message, which can name dom0's paths,
 * stays in dom0's log and result record; the sender gets the code alone.
 */
const VERDICT_ON_INPUT = /^(?:TAR_|RPM_|VERSION_)|^(?:SENDER_NOT_ALLOWED|STAGE_TIMEOUT|RECEIVE_INTERRUPTED)$/;
const DOM0_INTERNAL = new Set(['RPM_IO', 'RPM_STATE', 'TAR_SOURCE_ERROR']);

function isVerdictOnInput(code: string): boolean {
  return VERDICT_ON_INPUT.test(code) && !DOM0_INTERNAL.has(code);
}

/**
 * dom0's limits: the default byte limit is derived from the updates dir's free space, so naming it would
 * tell the UpdateVM dom0's free space, as often as it calls. The verdict goes back, not the figure.
 */
const LIMIT_CODES = /^TAR_(?:MEMBER_TOO_LARGE|TOO_MANY_BYTES|TOO_MANY_MEMBERS)$/;

function replyMessage(rejection: Rejection): string {
  if (!isVerdictOnInput(rejection.code)) return "dom0 could not take the batch; the reason is in dom0's log";
  if (LIMIT_CODES.test(rejection.code)) return "over one of dom0's limits (files, bytes per package or in all); the limit is in dom0's log";
  return rejection.message;
}

export function rejectedReply(rejection: Rejection): Reply {
  const message = replyMessage(rejection);
  return {
    protocol: PROTOCOL_VERSION,
    status: 'rejected',
    packages: [],
    error: { code: rejection.code, ...(rejection.member === null ? {} : { member: rejection.member }), message },
  };
}

/** How the reply went: written, the reader gone, or dropped at the deadline or a signal. */
export type ReplyDelivery = 'sent' | 'gone' | 'timed-out' | 'stopped';

export interface ReplyBound {
  /** longest wait for the sender to take the reply */
  readonly deadlineMs: number;
  /** ends the wait at once (a signal) */
  readonly stop: AbortSignal;
}

/** A reply dropped unwritten: its queued write keeps the event loop alive until the process exits. */
let dropped = false;

/** True once a reply was dropped: main then ends the process instead of waiting for the loop to drain. */
export function replyDropped(): boolean {
  return dropped;
}

/**
 * The one JSON line back to the UpdateVM. A sender that stopped listening is not our failure; one
 * that keeps the pipe open and never reads must not keep the receiver (and the updates dir's
 * lock) for ever: the wait ends at the deadline or a stop. Node never closes stdout, so the
 * queued write stays behind and main exits the process (replyDropped).
 */
export function writeReply(reply: Reply, bound: ReplyBound): Promise<ReplyDelivery> {
  const bytes = encodeReply(reply);
  const stdout = process.stdout;
  return new Promise((resolve) => {
    let done = false;
    let cancelTimer = (): void => undefined;
    const settle = (delivery: ReplyDelivery): void => {
      if (done) return;
      done = true;
      cancelTimer();
      bound.stop.removeEventListener('abort', onStop);
      stdout.off('error', onError);
      if (delivery === 'timed-out' || delivery === 'stopped') dropped = true;
      resolve(delivery);
    };
    const onStop = (): void => settle('stopped');
    const onError = (): void => settle('gone');
    cancelTimer = afterDelay(bound.deadlineMs, () => settle('timed-out'));
    bound.stop.addEventListener('abort', onStop);
    stdout.on('error', onError);
    stdout.write(bytes, (error) => settle(error === undefined || error === null ? 'sent' : 'gone'));
  });
}
