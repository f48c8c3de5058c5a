import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdtemp, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { encodeUpdateStream, parseReply, type EncoderMember } from '@dom0-updates/protocol';
import { buildFixtures, type FixtureSet } from '@dom0-updates/fixtures';

export const BUNDLE = join(import.meta.dirname, '..', 'dist', 'dom0-receiver.mjs');

/**
 * A PATH whose createrepo_c is a shell script of the test's, in a directory of its own under
 * `parent` (`script` gets that directory, for a pid file); 0755, so any uid can run it.
 */
export async function createrepoStandIn(script: (dir: string) => string, parent = tmpdir()): Promise<{ readonly dir: string; readonly path: string }> {
  const dir = await mkdtemp(join(parent, 'createrepo-stand-in-'));
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'createrepo_c'), `#!/bin/sh\n${script(dir)}`);
  await chmod(join(dir, 'createrepo_c'), 0o755);
  return { dir, path: `${dir}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
}

let fixtures: Promise<FixtureSet> | undefined;
export function getFixtures(): Promise<FixtureSet> {
  fixtures ??= buildFixtures();
  return fixtures;
}

export async function keyringArgs(): Promise<string[]> {
  const f = await getFixtures();
  return f.trustedKeyPaths.flatMap((p) => ['--keyring', p]);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: Uint8Array | 'stall';
  env?: Record<string, string>;
  /** Another copy of the bundle to run (default: the built one). */
  bundle?: string;
  /** A command line to run node under (e.g. `unshare -m ...`); it must exec its arguments. */
  prefix?: readonly string[];
  /** kill -9 after this long: for a receiver that might never end (it outlives SIGTERM before the lock). */
  killAfterMs?: number;
}

/** Runs the built bundle as a real process. */
export function runReceiver(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [command, ...commandArgs] = [...(options.prefix ?? []), process.execPath, options.bundle ?? BUNDLE, ...args];
    const child = spawn(command ?? process.execPath, commandArgs, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...options.env },
    });
    const killer = options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.stdin.on('error', () => undefined);
    if (options.stdin === 'stall') {
      // a sender that sends part of a header and then nothing, without closing
      child.stdin.write(new Uint8Array(100));
    } else {
      child.stdin.end(options.stdin ?? new Uint8Array(0));
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      child.stdin.destroy();
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A well-formed update stream (the protocol's own encoder) carrying the given members. */
export async function encodeStream(members: readonly EncoderMember[]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await encodeUpdateStream(members, out);
  return Buffer.concat(chunks);
}

export async function fileMember(path: string, name?: string): Promise<EncoderMember> {
  const bytes = await readFile(path);
  return { name: name ?? path.slice(path.lastIndexOf('/') + 1), size: bytes.length, body: [bytes] };
}

/** A fresh updates dir. */
export async function makeUpdatesDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dom0-receiver-test-'));
  await chmod(dir, 0o755);
  return dir;
}

/** A fresh updates dir with the fixture set's v1 packages received and published. */
export async function publishedV1(): Promise<string> {
  const f = await getFixtures();
  const dir = await makeUpdatesDir();
  const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
    stdin: await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path)))),
  });
  if (run.code !== 0) throw new Error(`publishing v1 failed: ${run.stderr}`);
  return dir;
}

/** Every path under dir with its kind and content hash (symlinks by target): byte-for-byte identity. */
export async function treeHash(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const path = join(dir, name);
    const rel = prefix + name;
    const st = await lstat(path);
    if (st.isSymbolicLink()) out[rel] = `link:${await readlink(path)}`;
    else if (st.isDirectory()) {
      out[rel] = `dir:${(st.mode & 0o7777).toString(8)}`;
      Object.assign(out, await treeHash(path, `${rel}/`));
    } else out[rel] = `file:${(st.mode & 0o7777).toString(8)}:${createHash('sha256').update(await readFile(path)).digest('hex')}`;
  }
  return out;
}

/** The published tree: the `repo` link and the generation it points at. */
export async function publishedTree(updatesDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  try {
    out['repo'] = `link:${await readlink(join(updatesDir, 'repo'))}`;
  } catch {
    return out;
  }
  return { ...out, ...(await treeHash(join(updatesDir, 'repo'), 'repo/')) };
}

export async function leftovers(updatesDir: string): Promise<string[]> {
  return (await readdir(updatesDir)).filter((n) => n.startsWith('staging.') || n.startsWith('.tmp.') || n.endsWith('.lock'));
}

export async function readResult(updatesDir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(updatesDir, 'result.json'), 'utf8')) as Record<string, unknown>;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The error of a rejected reply on stdout; throws when the reply is not a rejection. */
export function replyError(run: RunResult): { code: string; member?: string; message: string } {
  const reply = parseReply(Buffer.from(run.stdout));
  if (reply.status !== 'rejected') throw new Error(`expected a rejected reply, got ${run.stdout}`);
  return reply.error;
}

export interface PausedReceiver {
  readonly pid: number;
  /** What the receiver wrote on stderr up to the pause. */
  readonly stderr: string;
  /** kill -9, then waits for the end; returns the signal it ended with. */
  kill(): Promise<NodeJS.Signals | null>;
}

/**
 * Starts the bundle with a test pause point (src/test-hooks/pause.ts) and waits until it pauses
 * there; `prefix` is a command line to run node under, which must exec its arguments.
 */
export async function startPausedAt(point: string, args: readonly string[], stream: Uint8Array, prefix: readonly string[] = []): Promise<PausedReceiver> {
  const [command, ...commandArgs] = [...prefix, process.execPath, BUNDLE, ...args];
  const child = spawn(command ?? process.execPath, commandArgs, {
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', DOM0_RECEIVER_TEST_HOOKS: '1', DOM0_RECEIVER_TEST_PAUSE: point },
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(stream);
  let stderr = '';
  const closed = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t;
      if (stderr.includes(`test pause at ${point}`)) resolve();
    });
    void closed.then(() => reject(new Error(`receiver ended before pausing at ${point}: ${stderr}`)));
  });
  return {
    pid: child.pid ?? -1,
    stderr,
    kill: () => {
      child.kill('SIGKILL');
      return closed;
    },
  };
}

/** The staging dir of a running receive once the stage has created `file` in it. */
export async function stagingDirHolding(updatesDir: string, file: string): Promise<string> {
  for (;;) {
    for (const name of (await readdir(updatesDir)).filter((n) => n.startsWith('staging.'))) {
      if ((await readdir(join(updatesDir, name)).catch((): string[] => [])).includes(file)) return join(updatesDir, name);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface HeldReceive {
  /** The staging dir, which holds the first member's file by now. */
  readonly staging: string;
  /** Sends the rest of the stream and waits for the receiver's end. */
  finish(): Promise<RunResult>;
  /** Sends the receiver `signal` while the sender still waits, and waits for its end. */
  interrupt(signal: NodeJS.Signals): Promise<RunResult>;
}

/**
 * A receive (the bundle, as dom0 runs it) whose sender sends the first `sent` bytes of `stream`
 * and then waits: what the stage does meanwhile is open to the test. Returns once the stage has
 * created `firstFile` in its staging dir.
 */
export async function receiveWithStalledSender(updatesDir: string, stream: Uint8Array, sent: number, firstFile: string): Promise<HeldReceive> {
  const child = spawn(process.execPath, [BUNDLE, 'receive', '--updates-dir', updatesDir, ...(await keyringArgs())], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  child.stdin.on('error', () => undefined);
  const closed = new Promise<RunResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  child.stdin.write(stream.subarray(0, sent));
  const staging = await stagingDirHolding(updatesDir, firstFile);
  return {
    staging,
    finish: () => {
      child.stdin.end(stream.subarray(sent));
      return closed;
    },
    interrupt: async (signal) => {
      child.kill(signal);
      const end = await closed;
      child.stdin.destroy();
      return end;
    },
  };
}

/** A receive of the first two v1 fixture packages whose sender waits after the first one (see receiveWithStalledSender). */
export async function receiveHeldAfterFirstMember(updatesDir: string): Promise<HeldReceive> {
  const [first, second] = (await getFixtures()).packages.v1;
  if (first === undefined || second === undefined) throw new Error('two v1 fixtures needed');
  const stream = await encodeStream([await fileMember(first.path), await fileMember(second.path)]);
  // the first member: its header block and its body padded to whole blocks
  const firstEnd = 512 + Math.ceil((await readFile(first.path)).length / 512) * 512;
  return receiveWithStalledSender(updatesDir, stream, firstEnd, first.fileName);
}
