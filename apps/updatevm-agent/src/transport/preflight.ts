import { accessSync, constants, fstatSync } from 'node:fs';
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
 * What the transport needs, checked before dnf downloads anything: without it a download is
 * wasted and the person learns of it only at the end. The send still reports any later failure.
 */
export function checkTransport(transport: TransportSpec, env: NodeJS.ProcessEnv = process.env): void {
  if (transport.kind === 'fd') {
    for (const fd of [STREAM_FD, REPLY_FD]) {
      try {
        fstatSync(fd);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
        throw noFdsError(`fd ${fd}: ${code}`);
      }
    }
    return;
  }
  const [command] = transportArgv(transport);
  if (!executableOnPath(command, env['PATH'])) {
    const what = transport.kind === 'qrexec' ? 'qrexec-client-vm is not installed (is this a Qubes UpdateVM?)' : `the receiver command ${sanitize(command)} is not an executable file`;
    throw new TransportError('TRANSPORT_MISSING', `${what}; nothing was downloaded`);
  }
}
