import { parseReply, ReplyError, type Reply } from '@dom0-updates/protocol';
import { RejectedError, TransportError } from '../errors.ts';
import { sanitize } from '../text.ts';
import type { TransportResult } from './send.ts';

/** Reads dom0's one-line reply: returns the accepted packages, or throws naming the rejected member. */
export function interpretReply(result: TransportResult): Extract<Reply, { status: 'accepted' }>['packages'] {
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
    throw new RejectedError(
      reply.error.code,
      reply.error.member === undefined ? undefined : sanitize(reply.error.member, 300),
      sanitize(reply.error.message, 1000),
    );
  }
  return reply.packages;
}
