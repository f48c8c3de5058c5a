/**
 * Which of our own output streams lost its reader (`dom0-update | head -1`). Node reports EPIPE
 * only as an 'error' event: process.stdout stays `writable` and is never destroyed, so the stream
 * cannot tell afterwards. main.ts marks it; dnf's output then goes to the other stream.
 */
const gone = new WeakSet<NodeJS.WriteStream>();

export function markReaderGone(stream: NodeJS.WriteStream): void {
  gone.add(stream);
}

export function readerGone(stream: NodeJS.WriteStream): boolean {
  return gone.has(stream) || !stream.writable;
}
