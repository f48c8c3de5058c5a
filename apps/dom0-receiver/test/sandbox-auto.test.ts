import { readdirSync, readlinkSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs, type ReceiveArgs } from '../src/cli/args.ts';
import { pathUnreachableReason } from '../src/config/bwrap-preflight.ts';
import { encodeStream, fileMember, getFixtures, keyringArgs, leftovers, replyError, runReceiver, startPausedAt } from './helpers.ts';

const FALLBACK = 'sandbox: running the stage without bubblewrap (--sandbox auto)';

/**
 * A directory under /var/tmp, whose ancestors others may search (the suite's private TMPDIR is
 * 0700); removed after the file's tests, as the run's TMPDIR cleanup does not reach it.
 */
const varTmpDirs: string[] = [];
async function varTmpDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join('/var/tmp', prefix));
  varTmpDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(varTmpDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** An updates dir whose every ancestor is 0755 (world-traversable): /var/tmp/<random>/updates. */
async function reachableUpdatesDir(): Promise<string> {
  const parent = await varTmpDir('dom0-receiver-sandbox-');
  await chmod(parent, 0o755);
  return join(parent, 'updates');
}

/** An updates dir under a 0700 root-owned parent: the stage uid cannot reach it by path. */
async function privateUpdatesDir(): Promise<{ parent: string; dir: string }> {
  const parent = await mkdtemp(join(tmpdir(), 'dom0-receiver-private-parent-'));
  await chmod(parent, 0o700);
  return { parent, dir: join(parent, 'updates') };
}

/** pid -> parent pid, for every process in /proc. */
async function parentPids(): Promise<Map<number, number>> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = /^PPid:\s+(\d+)$/m.exec(await readFile(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (ppid !== undefined) parents.set(Number(entry), Number(ppid));
    } catch {
      // exited meanwhile
    }
  }
  return parents;
}

interface StageView {
  readonly pid: number;
  readonly uid: number;
  /** The NSpid line: one entry in the host pid namespace only, two under bwrap's own. */
  readonly nsPids: readonly number[];
}

/** The Node stage process below `receiverPid` (not bwrap's own processes, whose argv[0] is bwrap). */
async function findStage(receiverPid: number): Promise<StageView> {
  const parents = await parentPids();
  const below = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === receiverPid) return true;
    return false;
  };
  for (const pid of parents.keys()) {
    if (!below(pid)) continue;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    if (argv[0] !== process.execPath || !argv.includes('__stage')) continue;
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number[] => (new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/).map(Number);
    return { pid, uid: field('Uid')[0] ?? -1, nsPids: field('NSpid') };
  }
  throw new Error(`no stage process below ${receiverPid}`);
}

/** SIGKILL, where the process may already be gone (under bwrap's --die-with-parent it ends with the receiver). */
function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Runs a receive until the stage pauses after its first member, looks at the stage, then kills both. */
async function stageWhilePaused(
  args: readonly string[],
  prefix: readonly string[] = [],
): Promise<{ stage: StageView; stderr: string; sees: (dir: string) => string[]; fds: string[]; ownNamespaces: (kind: 'net' | 'ipc') => boolean }> {
  const f = await getFixtures();
  const stream = await encodeStream([await fileMember(f.packages.v2[0]!.path)]);
  const paused = await startPausedAt('stage-after-member', ['receive', ...args, ...(await keyringArgs())], stream, prefix);
  const receiverPid = paused.pid;
  try {
    const stage = await findStage(receiverPid);
    // the stage's own view of the file system, read while it runs (root may look through /proc)
    const view = new Map(['/run', '/tmp', '/var/tmp'].map((dir) => [dir, readdirSync(`/proc/${stage.pid}/root${dir}`)]));
    // what each of its descriptors points to
    const fds = readdirSync(`/proc/${stage.pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${stage.pid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
    const namespaces = new Map((['net', 'ipc'] as const).map((kind) => [kind, readlinkSync(`/proc/${stage.pid}/ns/${kind}`) !== readlinkSync(`/proc/${receiverPid}/ns/${kind}`)]));
    return { stage, stderr: paused.stderr, sees: (dir) => view.get(dir) ?? [], fds, ownNamespaces: (kind) => namespaces.get(kind) === true };
  } finally {
    // a stage without bwrap's --die-with-parent would outlive the receiver: kill it by its pid
    const stage = await findStage(receiverPid).catch(() => undefined);
    if (stage !== undefined) killIfAlive(stage.pid);
    await paused.kill();
  }
}

describe('--sandbox auto (the default)', () => {
  it('runs the stage under bubblewrap when the stage uid can reach the updates dir', async () => {
    const dir = await reachableUpdatesDir();
    const { stage, stderr, sees } = await stageWhilePaused(['--updates-dir', dir]);
    // bwrap's --unshare-all gives the stage its own pid namespace: a second NSpid entry
    expect(stage.nsPids).toHaveLength(2);
    expect(stage.uid).toBeGreaterThanOrEqual(2_147_000_000);
    expect(stderr).not.toContain(FALLBACK);
    // no Unix socket of /run (system bus, journald, qrexec) or /tmp (X11) is in reach; of /var/tmp
    // only the path down to the staging dir, bound in over the empty tmpfs
    expect(readdirSync('/run').length).toBeGreaterThan(0);
    expect(sees('/run')).toEqual([]);
    expect(sees('/tmp')).toEqual([]);
    expect(sees('/var/tmp')).toEqual([basename(dirname(dir))]);
  });

  it('publishes a real batch under bubblewrap with no fallback diagnostic', async () => {
    const f = await getFixtures();
    const dir = await reachableUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path)))),
    });
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain(FALLBACK);
    expect((await readdir(join(dir, 'repo'))).filter((n) => n.endsWith('.rpm')).sort()).toEqual(f.packages.v2.map((p) => p.fileName).sort());
  });

  it('falls back to no bubblewrap under a 0700 parent, saying which directory the stage uid cannot search', async () => {
    const { parent, dir } = await privateUpdatesDir();
    const { stage, stderr, ownNamespaces } = await stageWhilePaused(['--updates-dir', dir]);
    expect(stage.nsPids).toHaveLength(1);
    // without bwrap, still no network: namespaces of its own, made by unshare before setpriv drops root
    expect(ownNamespaces('net')).toBe(true);
    const lines = stderr.split('\n').filter((l) => l.includes(FALLBACK));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^dom0-receiver: ${FALLBACK.replace(/[()]/g, '\\$&')}: the stage uid ${stage.uid} cannot search ${parent} \\(mode 0700, owner 0:0\\)`));
  });

  it('publishes a real batch under a 0700 parent after the fallback', async () => {
    const f = await getFixtures();
    const { dir } = await privateUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path)))),
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(FALLBACK);
    expect(await leftovers(dir)).toEqual([]);
  });

  it('falls back with a diagnostic when bwrap is not installed', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'dom0-receiver-nobwrap-'));
    await chmod(bin, 0o755);
    await symlink('/usr/bin/createrepo_c', join(bin, 'createrepo_c'));
    const dir = await reachableUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: await encodeStream([]),
      env: { PATH: bin },
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`${FALLBACK}: bwrap is not installed (not found in PATH)`);
  });
});

describe('descriptors the receiver inherited', () => {
  it.each(['bwrap', 'none'] as const)('never reach the stage (--sandbox %s)', async (sandbox) => {
    const dir = await reachableUpdatesDir();
    const victim = join(dirname(dir), 'victim.log');
    // a shell's `200>>file`: open in the receiver without close-on-exec, as a careless caller leaves it
    const { fds } = await stageWhilePaused(['--updates-dir', dir, '--sandbox', sandbox], ['bash', '-c', `exec "$@" 200>>${victim}`, 'bash']);
    expect(fds.length).toBeGreaterThan(3);
    expect(fds).not.toContain(victim);
  });
});

describe('explicit --sandbox values', () => {
  it('--sandbox none runs the stage without bubblewrap and without a diagnostic, even where bwrap would work', async () => {
    const dir = await reachableUpdatesDir();
    const { stage, stderr, ownNamespaces } = await stageWhilePaused(['--updates-dir', dir, '--sandbox', 'none']);
    expect(stage.nsPids).toHaveLength(1);
    expect(stderr).not.toContain('bubblewrap');
    expect(stderr).not.toContain('sandbox:');
    // as root, still in network and IPC namespaces of its own, as the dynamic uid
    expect(ownNamespaces('net')).toBe(true);
    expect(ownNamespaces('ipc')).toBe(true);
    expect(stage.uid).toBeGreaterThanOrEqual(2_147_000_000);
  });

  it('--sandbox none runs the stage in the host\'s namespaces, saying why, where util-linux\'s unshare is missing', async () => {
    const dir = await reachableUpdatesDir();
    // a PATH with node's own directory and bwrap, but no unshare or setpriv
    const bin = await mkdtemp(join(tmpdir(), 'dom0-receiver-path-'));
    await symlink('/usr/bin/bwrap', join(bin, 'bwrap'));
    const { stage, stderr, ownNamespaces } = await stageWhilePaused(['--updates-dir', dir, '--sandbox', 'none'], ['env', `PATH=${bin}`]);
    expect(stderr).toContain('sandbox: the stage shares the host\'s network and IPC namespaces: unshare or setpriv (util-linux) is not in PATH');
    expect(ownNamespaces('net')).toBe(false);
    expect(stage.uid).toBeGreaterThanOrEqual(2_147_000_000);
  });

  it('--sandbox bwrap runs the stage under bubblewrap', async () => {
    const dir = await reachableUpdatesDir();
    const { stage } = await stageWhilePaused(['--updates-dir', dir, '--sandbox', 'bwrap']);
    expect(stage.nsPids).toHaveLength(2);
  });

  it('--sandbox bwrap refuses, before starting the stage, an updates dir the stage uid cannot reach', async () => {
    const { parent, dir } = await privateUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs()), '--sandbox', 'bwrap'], { stdin: await encodeStream([]) });
    expect(run.code).toBe(1);
    const error = replyError(run);
    expect(error.code).toBe('CONFIG_INVALID');
    // the reason names dom0's paths: it goes to dom0's log, not to the sender
    expect(error.message).not.toContain(parent);
    expect(run.stderr).toMatch(new RegExp(`CONFIG_INVALID: --sandbox bwrap: the stage uid \\d+ cannot search ${parent} \\(mode 0700, owner 0:0\\)`));
    expect(run.stderr).not.toContain(FALLBACK);
    expect(await leftovers(dir)).toEqual([]);
  });
});

describe('--sandbox bwrap where user namespaces are disabled', () => {
  it('refuses a setuid bwrap that root does not own (its setuid bit grants no namespaces) as CONFIG_INVALID', async () => {
    const dir = await reachableUpdatesDir();
    // a private mount namespace in which the kernel knob reads 0, and a bwrap setuid to another user
    const work = await mkdtemp(join(tmpdir(), 'dom0-receiver-nouserns-'));
    await writeFile(join(work, 'zero'), '0\n');
    const bin = join(work, 'bin');
    await mkdir(bin);
    await copyFile('/usr/bin/bwrap', join(bin, 'bwrap'));
    await chown(join(bin, 'bwrap'), 1234, 1234);
    await chmod(join(bin, 'bwrap'), 0o4755);
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs()), '--sandbox', 'bwrap'], {
      stdin: await encodeStream([]),
      env: { PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` },
      prefix: ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /proc/sys/user/max_user_namespaces && exec "$@"', join(work, 'zero')],
    });
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('CONFIG_INVALID');
    expect(run.stderr).toContain('CONFIG_INVALID: --sandbox bwrap: user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0) and bwrap is not setuid root');
    expect(await leftovers(dir)).toEqual([]);
  });
});

describe('parsing --sandbox', () => {
  const receiveArgs = (extra: string[]): ReceiveArgs => {
    const parsed = parseArgs(['receive', '--updates-dir', '/x', '--keyring', 'k', ...extra]);
    if (parsed.command !== 'receive') throw new Error('not a receive');
    return parsed;
  };

  it('defaults to auto', () => {
    expect(receiveArgs([]).sandbox).toBe('auto');
  });

  it.each(['auto', 'bwrap', 'none'] as const)('accepts --sandbox %s', (kind) => {
    expect(receiveArgs(['--sandbox', kind]).sandbox).toBe(kind);
  });

  it('names the three values when given another', () => {
    expect(() => receiveArgs(['--sandbox', 'docker'])).toThrow('--sandbox must be "auto", "bwrap" or "none", got "docker"');
  });
});

describe('the path check before bwrap', () => {
  const stranger = { uid: 2_147_399_999, gid: 2_147_399_999, groups: [] };

  it('passes when every component is searchable by others', async () => {
    const dir = join(await reachableUpdatesDir(), 'staging');
    await mkdir(dir, { recursive: true, mode: 0o755 });
    expect(await pathUnreachableReason(dir, stranger)).toBeUndefined();
  });

  it('names the first component the uid cannot search', async () => {
    const { parent, dir } = await privateUpdatesDir();
    await mkdir(dir, { mode: 0o755 });
    expect(await pathUnreachableReason(dir, stranger)).toMatch(new RegExp(`^the stage uid 2147399999 cannot search ${parent} \\(mode 0700`));
  });

  it('applies the owner bits to the owner even when others could search', async () => {
    const top = await varTmpDir('dom0-receiver-owner-');
    await chown(top, stranger.uid, 0);
    await chmod(top, 0o071);
    expect(await pathUnreachableReason(top, stranger)).toContain(`cannot search ${top} (mode 0071, owner ${stranger.uid}:0)`);
    expect(await pathUnreachableReason(top, { uid: 1234, gid: 1234, groups: [] })).toBeUndefined();
  });

  it('applies the group bits to a supplementary group of the stage identity', async () => {
    const top = await varTmpDir('dom0-receiver-group-');
    await chown(top, 0, 4242);
    await chmod(top, 0o710);
    expect(await pathUnreachableReason(top, { ...stranger, groups: [4242] })).toBeUndefined();
    expect(await pathUnreachableReason(top, stranger)).toContain(`cannot search ${top} (mode 0710, owner 0:4242)`);
  });

  it('checks the real path behind a symlinked directory', async () => {
    const { parent } = await privateUpdatesDir();
    const target = join(parent, 'real');
    await mkdir(target, { mode: 0o755 });
    const link = join(await reachableUpdatesDir(), '..', 'link');
    await symlink(target, link);
    expect(await pathUnreachableReason(link, stranger)).toContain(`cannot search ${parent}`);
  });
});
