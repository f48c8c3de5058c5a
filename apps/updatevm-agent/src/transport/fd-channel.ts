/**
 * The `fd` transport: dom0-update's local transport hands the agent two inherited descriptors,
 * fd 3 for the update stream and fd 4 for dom0's reply, the way qrexec-client-vm hands a qrexec
 * service its stdin and stdout. dom0 starts its own receiver behind them; the agent cannot.
 */
import { Socket } from 'node:net';
import { TransportError } from '../errors.ts';

export const STREAM_FD = 3;
export const REPLY_FD = 4;

export interface FdChannel {
  readonly stream: Socket;
  readonly reply: Socket;
}

/** The error for a missing descriptor; `detail` says which failed and how. */
export function noFdsError(detail: string): TransportError {
  return new TransportError('TRANSPORT_NO_FDS', `--transport fd needs fd ${STREAM_FD} (update stream) and fd ${REPLY_FD} (reply) from dom0-update (${detail})`);
}

/** Opens both descriptors; a missing one means the agent was not started by dom0-update. */
export function openFdChannel(): FdChannel {
  try {
    // net.Socket copes with pipes and socket pairs alike, blocking or not.
    const stream = new Socket({ fd: STREAM_FD, readable: false, writable: true });
    const reply = new Socket({ fd: REPLY_FD, readable: true, writable: false });
    return { stream, reply };
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'unknown';
    throw noFdsError(code);
  }
}

/** Reads dom0's reply until dom0 closes fd 4, keeping at most `limit` bytes. */
export async function readReply(reply: Socket, limit: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of reply) {
      const bytes = chunk as Buffer;
      if (size + bytes.byteLength > limit) break;
      parts.push(bytes);
      size += bytes.byteLength;
    }
  } catch {
    // dom0 went away: whatever arrived is judged by the reply parser.
  } finally {
    reply.destroy();
  }
  return Buffer.concat(parts);
}
