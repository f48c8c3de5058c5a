// A --workdir the agent cannot create or write is a named failure (WORKDIR_UNUSABLE, exit 1) that
// says which path failed and why, never an internal error.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AgentError, WorkdirError } from '../src/errors.ts';
import { asWorkdirError } from '../src/installroot/workdir-fs.ts';
import { encodeState } from './support/stream.ts';
import { agent, BUNDLE } from './support/world.ts';

let dir: string;
/** A valid state stream: the request alone, so the agent goes straight to laying out the workdir. */
let state: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-workdir-'));
  state = await encodeState({}, []);
});

describe('an unusable --workdir', () => {
  it('under a regular file is WORKDIR_UNUSABLE naming the path and ENOTDIR', async () => {
    await writeFile(join(dir, 'afile'), '');
    const workdir = join(dir, 'afile', 'w');
    const run = await agent(['sync-state', '--workdir', workdir], { input: state });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `updatevm-agent: error: the working directory ${workdir} cannot be used: mkdir ${workdir}/home: not a directory (ENOTDIR) [WORKDIR_UNUSABLE]`,
    );
  });

  it('under /proc is WORKDIR_UNUSABLE naming ENOENT, where Node\'s recursive mkdir would retry forever', async () => {
    const workdir = '/proc/dom0-updates-no-such-dir/w';
    const run = await agent(['sync-state', '--workdir', workdir], { input: state });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `updatevm-agent: error: the working directory ${workdir} cannot be used: mkdir /proc/dom0-updates-no-such-dir: no such file or directory (ENOENT) [WORKDIR_UNUSABLE]`,
    );
  });

  it('that is a regular file is WORKDIR_UNUSABLE for run too, reported in the --json-progress done line', async () => {
    const workdir = join(dir, 'plainfile');
    await writeFile(workdir, '');
    const run = await agent(['run', '--workdir', workdir, '--transport', 'fd', '--json-progress'], { input: state });
    expect(run.exitCode).toBe(1);
    const done = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
    expect(done).toMatchObject({ stage: 'done', result: 'error', code: 'WORKDIR_UNUSABLE' });
    expect(done['message']).toBe(`the working directory ${workdir} cannot be used: mkdir ${workdir}/home: not a directory (ENOTDIR)`);
  });
});

/** A failed file-system call as Node raises it. */
function fsError(code: string, errno: number, syscall: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, errno, syscall, path });
}

/**
 * Runs the agent in a private mount namespace (as root `unshare -m`; otherwise `unshare -rm`, which
 * needs user namespaces) with a tmpfs mounted read-only on `mountPoint`; `mkdirs` are made in it
 * first, while it is still writable.
 */
async function agentOnReadOnlyFs(mountPoint: string, mkdirs: string[], args: string[]) {
  const script = 'mount -t tmpfs tmpfs "$MP" && (cd "$MP" && mkdir -p -- . $MKDIRS) && mount -o remount,ro "$MP" && exec "$EXEC" "$BUNDLE" "$@"';
  return execa('unshare', [process.getuid?.() === 0 ? '-m' : '-rm', 'sh', '-c', script, 'sh', ...args], {
    reject: false,
    input: state,
    env: { MP: mountPoint, MKDIRS: mkdirs.join(' '), EXEC: process.execPath, BUNDLE },
  });
}

describe('a --workdir on a read-only file system', () => {
  it('that does not exist yet names EROFS on the directory it could not create, not ENOENT', async () => {
    const mountPoint = await mkdtemp(join(dir, 'ro-'));
    const workdir = join(mountPoint, 'agent', 'w');
    const run = await agentOnReadOnlyFs(mountPoint, [], ['sync-state', '--workdir', workdir]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `updatevm-agent: error: the working directory ${workdir} cannot be used: mkdir ${mountPoint}/agent: read-only file system (EROFS) [WORKDIR_UNUSABLE]`,
    );
  });

  it('that exists names EROFS on the directory it could not create inside it', async () => {
    const mountPoint = await mkdtemp(join(dir, 'ro-'));
    const run = await agentOnReadOnlyFs(mountPoint, [], ['sync-state', '--workdir', mountPoint]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `updatevm-agent: error: the working directory ${mountPoint} cannot be used: mkdir ${mountPoint}/home: read-only file system (EROFS) [WORKDIR_UNUSABLE]`,
    );
  });

  it('with its directories in place names EROFS on the file it could not write', async () => {
    const mountPoint = await mkdtemp(join(dir, 'ro-'));
    const run = await agentOnReadOnlyFs(mountPoint, ['home'], ['sync-state', '--workdir', mountPoint]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `updatevm-agent: error: the working directory ${mountPoint} cannot be used: open ${mountPoint}/home/.rpmmacros: read-only file system (EROFS) [WORKDIR_UNUSABLE]`,
    );
  });
});

describe('a file-system failure', () => {
  it('inside the working directory names the call, the path and the errno (EACCES here)', () => {
    const error = asWorkdirError(fsError('EACCES', -13, 'open', '/w/home/.rpmmacros'), '/w');
    expect(error).toBeInstanceOf(WorkdirError);
    expect((error as WorkdirError).message).toBe('the working directory /w cannot be used: open /w/home/.rpmmacros: permission denied (EACCES)');
  });

  it('inside the working directory for want of space is DISK_FULL', () => {
    expect((asWorkdirError(fsError('ENOSPC', -28, 'write', '/w/runs/run-1/a.rpm'), '/w') as AgentError).code).toBe('DISK_FULL');
  });

  it('outside the working directory is left as it is', () => {
    const outside = fsError('EACCES', -13, 'open', '/etc/elsewhere');
    expect(asWorkdirError(outside, '/w')).toBe(outside);
    const sibling = fsError('EACCES', -13, 'open', '/w2/x');
    expect(asWorkdirError(sibling, '/w')).toBe(sibling);
  });
});
