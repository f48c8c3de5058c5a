import { accessSync, constants, fstatSync, readdirSync, readlinkSync } from 'node:fs';
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

/**
 * Why `fd` is not a channel dom0-update handed down, or undefined. A descriptor the launcher did
 * not pass is not simply missing: Node takes the free numbers at start-up for its own event loop
 * (an epoll instance, wake-up pipes), so an fstat alone always succeeds. A channel is a socket or
 * a pipe; one of Node's own pipes has its other end open in this process too.
 */
function inheritedChannelProblem(fd: number): string | undefined {
  try {
    const stat = fstatSync(fd);
    if (!stat.isSocket() && !stat.isFIFO()) return 'not a socket or a pipe';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'unknown';
  }
  let target: string;
  let others: string[];
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
    others = readdirSync('/proc/self/fd').filter((name) => name !== String(fd));
  } catch {
    return undefined; // no /proc: the type check above is all there is
  }
  if (!target.startsWith('pipe:')) return undefined;
  for (const other of others) {
    try {
      if (readlinkSync(`/proc/self/fd/${other}`) === target) return 'a pipe of this process\'s own (not inherited)';
    } catch {
      // closed since the listing
    }
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
