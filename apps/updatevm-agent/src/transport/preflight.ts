import { accessSync, constants, fstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { TransportSpec } from '../cli/args.ts';
import { TransportError } from '../errors.ts';
import { sanitize } from '../text.ts';
import { noFdsError, REPLY_FD, STREAM_FD } from './fd-channel.ts';
import { transportArgv } from './send.ts';

function executableOnPath(command: string, path: string | undefined): boolean {
  const candidates = isAbsolute(command) || command.includes('/') ? [command] : (path ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, command));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The access mode (O_RDONLY, O_WRONLY, O_RDWR) of a descriptor, from /proc's fdinfo. */
function accessMode(fd: string): number | undefined {
  const match = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return match?.[1] === undefined ? undefined : Number.parseInt(match[1], 8) & 0o3;
}

/**
 * Why `fd` is not a channel dom0-update handed down, or undefined. A descriptor the launcher did
 * not pass is not simply missing: Node takes the free numbers at start-up for its own event loop
 * (an epoll instance, wake-up pipes), so an fstat alone always succeeds. A channel is a socket or
 * a pipe; one of Node's own pipes has its other end (the other access mode) open in this process
 * too, while an inherited end may be open twice (`3>&1`) but never both ends.
 */
function inheritedChannelProblem(fd: number): string | undefined {
  try {
    const stat = fstatSync(fd);
    if (!stat.isSocket() && !stat.isFIFO()) return 'not a socket or a pipe';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'unknown';
  }
  try {
    const target = readlinkSync(`/proc/self/fd/${fd}`);
    if (!target.startsWith('pipe:')) return undefined;
    const mode = accessMode(String(fd));
    for (const other of readdirSync('/proc/self/fd')) {
      if (other === String(fd)) continue;
      try {
        if (readlinkSync(`/proc/self/fd/${other}`) === target && accessMode(other) !== mode) {
          return "a pipe whose both ends this process holds (one of Node's own, not inherited)";
        }
      } catch {
        // closed since the listing
      }
    }
  } catch {
    // no /proc: the type check above is all there is
  }
  return undefined;
}

/**
 * What the transport needs, checked before dnf downloads anything: without it a download is
 * wasted and the person learns of it only at the end. The send still reports any later failure.
 */
export function checkTransport(transport: TransportSpec, env: NodeJS.ProcessEnv = process.env): void {
  if (transport.kind === 'fd') {
    for (const fd of [STREAM_FD, REPLY_FD]) {
      const problem = inheritedChannelProblem(fd);
      if (problem !== undefined) throw noFdsError(`fd ${fd}: ${problem}; nothing was downloaded`);
    }
    return;
  }
  const [command] = transportArgv(transport);
  if (!executableOnPath(command, env['PATH'])) {
    const what = transport.kind === 'qrexec' ? 'qrexec-client-vm is not installed (is this a Qubes UpdateVM?)' : `the receiver command ${sanitize(command)} is not an executable file`;
    throw new TransportError('TRANSPORT_MISSING', `${what}; nothing was downloaded`);
  }
}
