#!/usr/bin/env node
// A stand-in for a compromised agent speaking the fd transport: it ignores dom0's request, writes
// the package files named in HOSTILE_SEND (colon-separated paths) to fd 3 as a GNU tar ustar
// stream and copies dom0's reply from fd 4 to stdout. HOSTILE_HANG: never exit afterwards (a
// stalled UpdateVM). HOSTILE_RAW: write these literal bytes (hex) to fd 3 instead of a tar.
// HOSTILE_IGNORE_SIGNALS: survive SIGINT, SIGTERM and SIGHUP (Node resets a shell's `trap ''`).
// HOSTILE_EXIT: the exit code after dom0's reply (default 0). HOSTILE_EARLIER_RECEIVE (a JSON
// argv) with HOSTILE_EARLIER_RAW (hex, its stdin): a batch sent first through another call of the
// receiving service, as an UpdateVM may make any time under qrexec.
import { spawn, spawnSync } from 'node:child_process';
import { Socket } from 'node:net';
import { basename, dirname } from 'node:path';

if (process.env.HOSTILE_IGNORE_SIGNALS) for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => undefined);
const files = (process.env.HOSTILE_SEND ?? '').split(':').filter(Boolean);
const stream = new Socket({ fd: 3, readable: false, writable: true });
const reply = new Socket({ fd: 4, readable: true, writable: false });
stream.on('error', () => undefined);
reply.pipe(process.stdout);
const finish = () => {
  if (process.env.HOSTILE_HANG) setInterval(() => undefined, 60_000);
  else reply.on('end', () => process.exit(Number(process.env.HOSTILE_EXIT ?? '0')));
};
process.stdin.resume();
process.stdin.on('end', () => {
  if (process.env.HOSTILE_EARLIER_RECEIVE !== undefined) {
    const [command, ...args] = JSON.parse(process.env.HOSTILE_EARLIER_RECEIVE);
    spawnSync(command, args, { input: Buffer.from(process.env.HOSTILE_EARLIER_RAW ?? '', 'hex'), stdio: ['pipe', 'ignore', 'ignore'] });
  }
  if (process.env.HOSTILE_RAW !== undefined) {
    stream.end(Buffer.from(process.env.HOSTILE_RAW, 'hex'), finish);
    return;
  }
  // each file from its own directory, under its own name
  const tar = spawn('tar', ['--format=ustar', '-cf', '-', ...files.flatMap((f) => ['-C', dirname(f), basename(f)])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  tar.stdout.pipe(stream);
  tar.on('exit', finish);
});
