#!/usr/bin/env node
// A stand-in dom0 receiver for tests: keeps the update stream it is sent in argv[2] and answers
// with the reply line in argv[3] (or exits with argv[4] without replying when it is "exit:N").
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

const [out, reply, mode] = process.argv.slice(2);
await pipeline(process.stdin, createWriteStream(out));
if (mode?.startsWith('exit:')) process.exit(Number(mode.slice(5)));
process.stdout.write(`${reply}\n`);
