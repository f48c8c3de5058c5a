import { RejectedError, TransportError } from '../errors.ts';
import type { TransportResult } from './send.ts';
import { sanitize } from '../text.ts';

/** Reads dom0's one-line reply: the accepted package names, or throws naming the rejected member. */
export function interpretReply(result: TransportResult): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(result.reply).toString('utf8'));
  } catch {
    throw new TransportError('BAD_REPLY', `dom0's reply is not JSON (transport exit ${result.exitCode})`);
  }
  if (typeof parsed === 'object' && parsed !== null && 'ok' in parsed && parsed.ok === true) return [];
  throw new RejectedError('REJECTED', undefined, sanitize(JSON.stringify(parsed)));
}
