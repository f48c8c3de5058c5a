/**
 * dom0's end of the fd transport for tests: runs the agent bundle with fds 3 and 4 as pipes,
 * keeps what arrives on fd 3 and, once the agent closes it, answers on fd 4 (or closes fd 4
 * without a word, as dom0-update does when its receiver failed).
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { BUNDLE } from './world.ts';

export interface FdRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Everything the agent wrote to fd 3. */
  readonly stream: Buffer;
}

export async function agentOverFds(args: readonly string[], options: { input: Buffer; reply: string | undefined }): Promise<FdRun> {
  const child = spawn(process.execPath, [BUNDLE, ...args], { stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'] });
  const collect = (s: Readable | null | undefined): Promise<Buffer> =>
    new Promise((resolve) => {
      const parts: Buffer[] = [];
      if (!s) {
        resolve(Buffer.alloc(0));
        return;
      }
      s.on('data', (c: Buffer) => parts.push(c));
      s.on('error', () => undefined);
      s.on('end', () => {
        resolve(Buffer.concat(parts));
      });
    });
  const fd3 = child.stdio[3] as Readable;
  const fd4 = child.stdio[4] as Writable;
  fd4.on('error', () => undefined);
  const stream = collect(fd3).then((bytes) => {
    if (options.reply === undefined) fd4.end();
    else fd4.end(`${options.reply}\n`);
    return bytes;
  });
  child.stdin.end(options.input);
  const [stdout, stderr, captured, exitCode] = await Promise.all([
    collect(child.stdout),
    collect(child.stderr),
    stream,
    new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))),
  ]);
  return { exitCode, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), stream: captured };
}
