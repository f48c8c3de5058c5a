import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, writeSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLE, encodeStream, fileMember, getFixtures, keyringArgs, makeUpdatesDir, readResult, runReceiver } from './helpers.ts';

/**
 * A sender that keeps the service's stdout open and never reads it. The pipe is filled before the
 * receiver starts, so even a reply of one short line cannot be written (a reply of many packages
 * is larger than a pipe holds, so a hostile sender needs no such help).
 */
interface UnreadPipe {
  /** the write end, full: the receiver's stdout */
  readonly writeFd: number;
  close(): void;
}

async function fullUnreadPipe(): Promise<UnreadPipe> {
  const fifo = join(await mkdtemp(join(tmpdir(), 'reply-unread-')), 'reply');
  execFileSync('mkfifo', [fifo]);
  const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  // until the kernel takes no more (a pipe holds 64 KiB by default)
  for (;;) {
    try {
      writeSync(writeFd, new Uint8Array(65536));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw error;
    }
  }
  return {
    writeFd,
    close: () => {
      closeSync(writeFd);
      closeSync(readFd);
    },
  };
}

/** Runs `use` with the full pipe's write end, closing both ends afterwards. */
async function withUnreadPipe(use: (stdout: number) => Promise<void>): Promise<void> {
  const pipe = await fullUnreadPipe();
  try {
    await use(pipe.writeFd);
  } finally {
    pipe.close();
  }
}

interface Ended {
  readonly code: number | null;
  readonly stderr: string;
  readonly ms: number;
}

/** Starts a receive whose stdout is `stdoutFd`; `stdin` is the stream, or 'open' for a sender that sends nothing and never closes. */
function startReceive(args: readonly string[], stdin: Uint8Array | 'open', stdoutFd: number): { child: ChildProcess; stderr: () => string; ended: Promise<Ended> } {
  const started = performance.now();
  const child = spawn(process.execPath, [BUNDLE, 'receive', ...args], {
    stdio: ['pipe', stdoutFd, 'pipe'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  child.stdin?.on('error', () => undefined);
  if (stdin !== 'open') child.stdin?.end(stdin);
  const ended = new Promise<Ended>((resolve) => {
    child.on('close', (code) => {
      child.stdin?.destroy();
      resolve({ code, stderr, ms: performance.now() - started });
    });
  });
  return { child, stderr: () => stderr, ended };
}

/** Kills the child if it has not ended within `ms`, so a hang fails the test instead of stalling it. */
async function within(ms: number, run: { child: ChildProcess; ended: Promise<Ended> }): Promise<Ended & { hung: boolean }> {
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    run.child.kill('SIGKILL');
  }, ms);
  const ended = await run.ended;
  clearTimeout(timer);
  return { ...ended, hung };
}

async function until(what: () => boolean, ms = 60_000): Promise<void> {
  const end = performance.now() + ms;
  while (!what()) {
    if (performance.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM once `ready`; the receiver must then end with 143, well before its five-minute idle deadline. */
async function sigtermWhen(ready: () => boolean, started: ReturnType<typeof startReceive>): Promise<Ended> {
  await until(ready);
  const signalled = performance.now();
  started.child.kill('SIGTERM');
  const run = await within(60_000, started);
  expect(run.hung).toBe(false);
  expect(run.code).toBe(143);
  expect(performance.now() - signalled).toBeLessThan(30_000);
  return run;
}

async function v1Stream(): Promise<Buffer> {
  const f = await getFixtures();
  return encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
}

describe('a sender that never reads the reply', () => {
  it('does not keep the receiver, or the lock, past the idle deadline: the batch stays published and the reply is dropped', async () => {
    const dir = await makeUpdatesDir();
    await withUnreadPipe(async (stdout) => {
      const run = await within(60_000, startReceive(['--updates-dir', dir, ...(await keyringArgs()), '--idle-timeout', '2'], await v1Stream(), stdout));
      expect(run.hung).toBe(false);
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('published generation');
      expect(run.stderr).toContain('the sender did not take the reply within 2 s; it was dropped');
      expect(await readResult(dir)).toMatchObject({ status: 'published' });
      expect(await readdir(dir)).not.toContain('receiver.lock');
    });
    // the next receive finds the updates dir free
    const next = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: await encodeStream([]) });
    expect(next.code).toBe(0);
  });

  it('drops a rejection the sender does not read at the idle deadline too', async () => {
    const dir = await makeUpdatesDir();
    await withUnreadPipe(async (stdout) => {
      const stream = await v1Stream();
      const run = await within(60_000, startReceive(['--updates-dir', dir, ...(await keyringArgs()), '--idle-timeout', '2'], stream.subarray(0, 1000), stdout));
      expect(run.hung).toBe(false);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('TAR_TRUNCATED');
      expect(run.stderr).toContain('the sender did not take the reply within 2 s; it was dropped');
      expect(await readResult(dir)).toMatchObject({ status: 'rejected', rejection: { code: 'TAR_TRUNCATED' } });
    });
  });

  it('bounds the reply of a refusal that comes before the limits are read (a keyring it cannot read) by --idle-timeout too', async () => {
    const dir = await makeUpdatesDir();
    await withUnreadPipe(async (stdout) => {
      const run = await within(60_000, startReceive(['--updates-dir', dir, '--keyring', join(dir, 'missing.asc'), '--idle-timeout', '2'], await encodeStream([]), stdout));
      expect(run.hung).toBe(false);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('KEYRING_UNREADABLE');
      expect(run.stderr).toContain('the sender did not take the reply within 2 s; it was dropped');
    });
  });

  it('ends at a signal that comes while it waits for the sender to take the reply, with the signal\'s exit code', async () => {
    const dir = await makeUpdatesDir();
    await withUnreadPipe(async (stdout) => {
      // the idle deadline alone would hold it for five minutes
      const started = startReceive(['--updates-dir', dir, ...(await keyringArgs()), '--idle-timeout', '300'], await v1Stream(), stdout);
      const run = await sigtermWhen(() => started.stderr().includes('published generation'), started);
      expect(run.stderr).toContain('a signal came while the sender had not taken the reply; it was dropped');
      expect(run.stderr).toContain('interrupted by SIGTERM after publication; the batch stays published');
      expect(await readResult(dir)).toMatchObject({ status: 'published' });
    });
  });

  it('gives the reply only a short grace after a signal that stopped the batch, not the idle deadline', async () => {
    const dir = await makeUpdatesDir();
    await withUnreadPipe(async (stdout) => {
      // a sender that sends nothing: the signal stops the batch, then the reply cannot be written
      const started = startReceive(['--updates-dir', dir, ...(await keyringArgs()), '--idle-timeout', '300'], 'open', stdout);
      // the stage is running once the staging dir exists
      const run = await sigtermWhen(() => readdirSync(dir).some((n) => n.startsWith('staging.')), started);
      expect(run.stderr).toContain('RECEIVE_INTERRUPTED');
      expect(run.stderr).toContain('the sender did not take the reply within 2 s; it was dropped');
    });
  });
});
