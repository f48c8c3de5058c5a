#!/usr/bin/env node
// A stand-in for a compromised agent: ignores dom0's request and sends the receiver the package
// files named in HOSTILE_SEND (colon-separated paths) as a GNU tar ustar stream. With
// HOSTILE_HANG set it never exits afterwards (a stalled UpdateVM).
import { spawn } from 'node:child_process';
import { basename, dirname } from 'node:path';

const args = process.argv.slice(2);
const receiver = JSON.parse(args[args.indexOf('--receiver-command') + 1]);
const files = (process.env.HOSTILE_SEND ?? '').split(':').filter(Boolean);
process.stdin.resume();
process.stdin.on('end', () => {
  const tar = spawn('tar', ['--format=ustar', '-cf', '-', '-C', dirname(files[0]), ...files.map((f) => basename(f))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rx = spawn(receiver[0], receiver.slice(1), { stdio: ['pipe', 'inherit', 'inherit'] });
  tar.stdout.pipe(rx.stdin);
  rx.on('exit', (code) => {
    if (process.env.HOSTILE_HANG) setInterval(() => undefined, 60_000);
    else process.exit(code === 0 ? 0 : 1);
  });
});
