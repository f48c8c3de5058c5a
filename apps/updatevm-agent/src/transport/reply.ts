import { parseReply, ReplyError, type Reply } from '@dom0-updates/protocol';
import { RejectedError, TransportError } from '../errors.ts';
import { sanitize } from '../text.ts';
import type { TransportResult } from './send.ts';

/** How many of the receiver's own stderr lines a rejection quotes with `--transport local`. */
const RECEIVER_LINES = 3;

/**
 * Reads dom0's one-line reply: returns the accepted packages, or throws naming the rejected member.
 * `receiverStderr`: the transport's stderr is the receiver's own (`--transport local`, a person
 * running the agent by hand), which is "dom0's log" for a reason the reply keeps to dom0: the
 * rejection then quotes its last lines, sanitised.
 */
export function interpretReply(result: TransportResult, receiverStderr = false): Extract<Reply, { status: 'accepted' }>['packages'] {
  let reply: Reply;
  try {
    reply = parseReply(result.reply);
  } catch (error) {
    if (error instanceof ReplyError) {
      throw new TransportError(
        'BAD_REPLY',
        `dom0's reply could not be read (${error.code}, transport exit ${result.exitCode}): ${sanitize(error.issues.join('; '), 500)}`,
      );
    }
    throw error;
  }
  if (reply.status === 'rejected') {
    // dom0 sanitised these already; sanitising again is harmless and keeps this side honest.
    const lines = receiverStderr ? result.stderr.split(/\r?\n/).filter((line) => line.trim() !== '').slice(-RECEIVER_LINES) : [];
    const said = lines.length === 0 ? '' : `; the receiver's stderr: ${lines.map((line) => sanitize(line, 500)).join(' | ')}`;
    throw new RejectedError(
      reply.error.code,
      reply.error.member === undefined ? undefined : sanitize(reply.error.member, 300),
      `${sanitize(reply.error.message, 1000)}${said}`,
    );
  }
  return reply.packages;
}
