#!/usr/bin/env node
// A stand-in dom0 receiver for tests: keeps the update stream it is sent in argv[2] and answers
// with the reply line in argv[3]; argv[4] "exit:N" exits N without replying, "early" replies after
// the first chunk without reading the rest.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

const [out, reply, mode] = process.argv.slice(2);
if (mode === 'early') {
  // Reject after the first chunk without reading the rest, as dom0 does on a bad first member.
  for await (const chunk of process.stdin) {
    createWriteStream(out).end(chunk);
    break;
  }
  process.stdout.write(`${reply}\n`, () => process.exit(1));
} else {
  await pipeline(process.stdin, createWriteStream(out));
}
if (mode?.startsWith('exit:')) process.exit(Number(mode.slice(5)));
if (mode !== 'early') process.stdout.write(`${reply}\n`);
