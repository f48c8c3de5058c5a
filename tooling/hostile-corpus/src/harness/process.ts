import { spawn } from 'node:child_process';

/** What the sender writes on the receiver's stdin: bytes at once, or chunks over time. */
export type StreamSource = Uint8Array | ((signal: AbortSignal) => AsyncIterable<Uint8Array>);

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** The guard killed the process: it neither finished nor gave up by itself (a hang). */
  killedByGuard: boolean;
}

export interface RunOptions {
  stdin?: StreamSource;
  env?: Record<string, string>;
  cwd?: string;
  /** Generous wall-clock guard that only exists to turn a hang into a finding, never an assertion on speed. */
  guardMs?: number;
}

async function feed(child: ReturnType<typeof spawn>, source: StreamSource | undefined, signal: AbortSignal): Promise<void> {
  const stdin = child.stdin;
  if (stdin === null) return;
  // The receiver stops reading at the first bad byte: EPIPE on our side is expected, not an error.
  stdin.on('error', () => undefined);
  if (source === undefined) {
    stdin.end();
    return;
  }
  if (source instanceof Uint8Array) {
    stdin.end(source);
    return;
  }
  try {
    for await (const chunk of source(signal)) {
      if (stdin.destroyed || child.exitCode !== null || child.signalCode !== null) return;
      const ok = stdin.write(chunk);
      if (!ok) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            stdin.off('drain', done);
            stdin.off('close', done);
            resolve();
          };
          stdin.on('drain', done);
          stdin.on('close', done);
        });
      }
    }
  } finally {
    stdin.end();
  }
}

/** Runs a command with stdin fed from `source`, collecting stdout and stderr as bytes. */
export async function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  let killedByGuard = false;
  const guard = setTimeout(() => {
    killedByGuard = true;
    child.kill('SIGKILL');
  }, options.guardMs ?? 60_000);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  // Aborted when the receiver exits, so a stalling or endless sender stops too.
  const senderDone = new AbortController();
  const fed = feed(child, options.stdin, senderDone.signal).catch(() => undefined);
  try {
    const { code, signal } = await exited;
    senderDone.abort();
    child.stdin.destroy();
    await fed;
    return {
      exitCode: code,
      signal,
      stdout: new Uint8Array(Buffer.concat(out)),
      stderr: new Uint8Array(Buffer.concat(err)),
      killedByGuard,
    };
  } finally {
    clearTimeout(guard);
  }
}
