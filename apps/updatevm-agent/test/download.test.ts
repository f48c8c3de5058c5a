import { execFile, spawn } from 'node:child_process';
import { appendFile, chmod, cp, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startMirror } from '@dom0-updates/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workdirLayout } from '../src/installroot/paths.ts';
import { acceptedReply, decodeCaptured, gnuTarList, rejectedReply, sha256File } from './support/stream.ts';
import { agent, BUNDLE, CAPTURE_RECEIVER, makeWorld, syncedWorkdir, type World } from './support/world.ts';

const execFileAsync = promisify(execFile);

let world: World;

beforeAll(async () => {
  world = await makeWorld();
});

afterAll(async () => {
  await world.close();
});

function receiver(out: string, reply: string, mode?: string): string {
  return JSON.stringify([process.execPath, CAPTURE_RECEIVER, out, reply, ...(mode === undefined ? [] : [mode])]);
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A PATH whose first directory, world.dir/NAME, holds `file` (a stand-in dnf or dnf5): the shell script given. */
async function pathWith(name: string, file: string, script: string): Promise<string> {
  const bin = join(world.dir, name);
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, file), script);
  await chmod(join(bin, file), 0o755);
  return `${bin}:${process.env['PATH'] ?? ''}`;
}

/**
 * A download run with a stand-in `file` (dnf or dnf5, running `script`) first on PATH, its stream
 * going nowhere that matters: for what the agent makes of that dnf's words and exit.
 */
async function downloadWithStandIn(name: string, file: string, script: string, options: readonly string[] = []): Promise<{ workdir: string; run: Awaited<ReturnType<typeof agent>> }> {
  const workdir = await syncedWorkdir(world, name);
  const path = await pathWith(`${name}-bin`, file, script);
  const run = await agent(['download', '--workdir', workdir, ...options, '--receiver-command', receiver(join(world.dir, `${name}.tar`), 'x')], { env: { PATH: path } });
  return { workdir, run };
}

/** The port of a mirror that was started and closed again: nothing listens there. */
/**
 * A loopback URL nothing listens on. Port 1 lies below the ephemeral range, so no server another
 * test starts on port 0 at the same time can take it (a port freed by closing a mirror could be).
 */
async function deadUrl(): Promise<string> {
  const refused = await new Promise<boolean>((resolve) => {
    const probe = connect(1, '127.0.0.1');
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
  if (!refused) throw new Error('something listens on 127.0.0.1:1; the unreachable-mirror tests need it closed');
  return 'http://127.0.0.1:1/';
}

describe('download with real dnf against the loopback mirror', () => {
  it('upgrades: sends exactly the 2.0 packages dom0 needs, as a stream the strict decoder and GNU tar read', async () => {
    const workdir = await syncedWorkdir(world, 'upgrade');
    const out = join(world.dir, 'upgrade.tar');
    const v2 = world.fixtures.packages.v2;
    const run = await agent(['download', '--workdir', workdir, '--json-progress', '--receiver-command', receiver(out, await acceptedReply(world.fixtures, v2))]);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);

    const decoded = await decodeCaptured(out);
    const expected = new Map(await Promise.all(v2.map(async (p) => [p.fileName, await sha256File(p.path)] as const)));
    expect(decoded).toEqual(expected);
    expect([...decoded.keys()].sort()).toEqual(['dom0-hello-2.0-1.noarch.rpm', 'dom0-libgreet-2.0-1.noarch.rpm', 'dom0-tool-2.0-1.noarch.rpm']);
    const listed = await gnuTarList(out);
    expect(listed.map((m) => m.name).sort()).toEqual([...expected.keys()].sort());
    expect(listed.every((m) => m.type === '-')).toBe(true);

    const events = jsonLines(run.stdout);
    expect(events.some((e) => e['stage'] === 'download' && e['percent'] === 100)).toBe(true);
    expect(events.some((e) => e['stage'] === 'send' && e['percent'] === 100)).toBe(true);
    expect(events.at(-1)).toEqual({ stage: 'done', result: 'accepted', packages: v2.map((p) => p.nevra) });
    // The run's download directory is gone: nothing is kept to be re-sent later.
    expect(await readdir(join(workdir, 'runs'))).toEqual([]);
  });

  it('installs a package by name: sends that package alone', async () => {
    const workdir = await syncedWorkdir(world, 'install');
    const out = join(world.dir, 'install.tar');
    const extra = world.fixtures.packages.extra;
    const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(out, await acceptedReply(world.fixtures, extra)), 'dom0-extra']);
    expect(run.exitCode).toBe(0);
    expect([...(await decodeCaptured(out)).keys()]).toEqual(['dom0-extra-1.0-1.noarch.rpm']);
    expect(run.stdout).toContain('dom0 accepted 1 package(s): dom0-extra-1.0-1.noarch');
  });

  it('says "no updates", sends nothing and exits 0 when dom0 is up to date', async () => {
    const v1 = await startMirror(world.fixtures.repos.v1);
    try {
      const workdir = await syncedWorkdir(world, 'uptodate', v1.url);
      const out = join(world.dir, 'never-written.tar');
      const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(out, 'x')]);
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toContain('no updates');
      await expect(readFile(out)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await v1.close();
    }
  });

  it('check-only exits 100 and names the updates when there are some', async () => {
    const workdir = await syncedWorkdir(world, 'check-yes');
    const run = await agent(['download', '--workdir', workdir, '--check-only']);
    expect(run.exitCode).toBe(100);
    expect(run.stdout).toMatch(/updates available: .*dom0-hello 2\.0-1/);
  });

  it('check-only exits 0 when there are none', async () => {
    const v1 = await startMirror(world.fixtures.repos.v1);
    try {
      const workdir = await syncedWorkdir(world, 'check-no', v1.url);
      const run = await agent(['download', '--workdir', workdir, '--check-only', '--json-progress']);
      expect(run.exitCode).toBe(0);
      expect(jsonLines(run.stdout).at(-1)).toEqual({ stage: 'done', result: 'no_updates' });
    } finally {
      await v1.close();
    }
  });

  it('check-only with a package name that no repository has is PACKAGE_NOT_FOUND, not "no updates"', async () => {
    const v1 = await startMirror(world.fixtures.repos.v1);
    try {
      const workdir = await syncedWorkdir(world, 'check-unknown', v1.url);
      const run = await agent(['download', '--workdir', workdir, '--check-only', '--json-progress', 'dom0-hello', 'no-such-package']);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('no package matches "no-such-package" in the enabled repositories');
      expect(jsonLines(run.stdout).at(-1)).toMatchObject({ stage: 'done', result: 'error', code: 'PACKAGE_NOT_FOUND' });
      // named packages the repositories have are answered as before
      const known = await agent(['download', '--workdir', workdir, '--check-only', '--json-progress', 'dom0-hello', 'dom0-lib*']);
      expect(known.stderr).toBe('');
      expect(known.exitCode).toBe(0);
      expect(jsonLines(known.stdout).at(-1)).toEqual({ stage: 'done', result: 'no_updates' });
    } finally {
      await v1.close();
    }
  });

  it('check-only with the mirror down is an error, never "no updates", even with fresh cached metadata', async () => {
    const mirror = await startMirror(world.fixtures.repos.v2);
    try {
      const workdir = await syncedWorkdir(world, 'check-down', mirror.url);
      // A first successful check leaves metadata in the cache that a lazy check would reuse.
      expect((await agent(['download', '--workdir', workdir, '--check-only'])).exitCode).toBe(100);
      mirror.setDown(true);
      const run = await agent(['download', '--workdir', workdir, '--check-only', '--json-progress']);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain("repository 'fixture' is unreachable");
      expect(run.stderr).toContain('REPO_UNREACHABLE');
      const done = jsonLines(run.stdout).at(-1);
      expect(done).toMatchObject({ stage: 'done', result: 'error', code: 'REPO_UNREACHABLE' });
      expect(run.stdout).not.toContain('no_updates');
    } finally {
      await mirror.close();
    }
  });

  it('check-only with the mirror down is an error even when dom0\'s repo file says skip_if_unavailable=True', async () => {
    const mirror = await startMirror(world.fixtures.repos.v2);
    try {
      const workdir = await syncedWorkdir(world, 'check-down-skip', mirror.url);
      const reposDir = workdirLayout(workdir).reposDir;
      for (const file of await readdir(reposDir)) await appendFile(join(reposDir, file), 'skip_if_unavailable=True\n');
      mirror.setDown(true);
      const run = await agent(['download', '--workdir', workdir, '--check-only', '--json-progress']);
      expect(run.exitCode).toBe(1);
      expect(jsonLines(run.stdout).at(-1)).toMatchObject({ stage: 'done', result: 'error', code: 'REPO_UNREACHABLE' });
    } finally {
      await mirror.close();
    }
  });

  it('names the packages a mirror serves missing or corrupted as PACKAGE_DOWNLOAD_FAILED, not an unreachable repository', async () => {
    const broken = join(world.dir, 'broken-mirror');
    await cp(world.fixtures.repos.v2, broken, { recursive: true });
    await rm(join(broken, 'dom0-hello-2.0-1.noarch.rpm'));
    const tool = join(broken, 'dom0-tool-2.0-1.noarch.rpm');
    const bytes = await readFile(tool);
    bytes[3000] = (bytes[3000] ?? 0) ^ 0xff;
    await writeFile(tool, bytes);
    const mirror = await startMirror(broken);
    try {
      const workdir = await syncedWorkdir(world, 'broken-mirror', mirror.url);
      const out = join(world.dir, 'broken-never-written.tar');
      const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(out, 'x')]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/no mirror served (dom0-hello-2\.0-1\.noarch|dom0-tool-2\.0-1\.noarch)/);
      expect(run.stderr).toContain('[PACKAGE_DOWNLOAD_FAILED]');
      expect(run.stderr).not.toContain('unreachable');
      await expect(readFile(out)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await mirror.close();
    }
  });

  it('refuses to send a package file whose name the update stream cannot carry (BAD_PACKAGE_NAME), and sends nothing', async () => {
    const renamed = join(world.dir, 'long-name-mirror');
    await cp(world.fixtures.repos.v2, renamed, { recursive: true });
    // a name the member rule takes but a ustar header (100 bytes, no prefix) cannot hold
    const longName = `dom0-tool-2.0-1.noarch-${'x'.repeat(80)}.rpm`;
    await cp(join(renamed, 'dom0-tool-2.0-1.noarch.rpm'), join(renamed, longName));
    await rm(join(renamed, 'dom0-tool-2.0-1.noarch.rpm'));
    await execFileAsync('createrepo_c', ['--quiet', renamed]);
    const mirror = await startMirror(renamed);
    try {
      const workdir = await syncedWorkdir(world, 'long-name-mirror', mirror.url);
      const out = join(world.dir, 'long-name-never-written.tar');
      const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(out, 'x')]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain(`the mirror served package file "${longName}", which cannot be sent: the name is longer than 100 bytes; no update is sent while dnf wants it: leave that package out (dom0-update --exclude=NAME) to update the others`);
      expect(run.stderr).toContain('[BAD_PACKAGE_NAME]');
      await expect(readFile(out)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await mirror.close();
    }
  });

  it('names metadata a mirror serves damaged as REPO_METADATA_BAD, not an unreachable repository', async () => {
    for (const damage of ['primary', 'repomd'] as const) {
      const broken = join(world.dir, `damaged-${damage}`);
      await cp(world.fixtures.repos.v2, broken, { recursive: true });
      const repodata = join(broken, 'repodata');
      const target = damage === 'repomd' ? 'repomd.xml' : (await readdir(repodata)).find((n) => n.endsWith('-primary.xml.gz'));
      if (target === undefined) throw new Error('no primary.xml.gz in the fixture repository');
      const bytes = await readFile(join(repodata, target));
      if (damage === 'repomd') await writeFile(join(repodata, target), 'garbage\n');
      else {
        bytes[30] = (bytes[30] ?? 0) ^ 0xff;
        await writeFile(join(repodata, target), bytes);
      }
      const mirror = await startMirror(broken);
      try {
        const workdir = await syncedWorkdir(world, `damaged-${damage}`, mirror.url);
        const run = await agent(['download', '--workdir', workdir, '--check-only']);
        expect(run.exitCode, damage).toBe(1);
        expect(run.stderr).toContain("repository 'fixture' served metadata that is damaged or does not match its checksums");
        expect(run.stderr).toContain('[REPO_METADATA_BAD]');
        expect(run.stderr).not.toContain('unreachable');
      } finally {
        await mirror.close();
      }
    }
  });

  it('fails clearly when the mirror is unreachable', async () => {
    const workdir = await syncedWorkdir(world, 'unreachable', await deadUrl());
    const out = join(world.dir, 'unreachable.tar');
    const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(out, 'x')]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/repository 'fixture' is unreachable while downloading updates/);
    await expect(readFile(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('--clean empties the caches and a leftover run, and only this run is sent', async () => {
    const workdir = await syncedWorkdir(world, 'clean');
    // What a crashed earlier run could leave: a package in an old run dir and cache contents.
    const stale = join(workdir, 'runs', 'run-stale');
    await mkdir(stale, { recursive: true });
    const extra = world.fixtures.packages.extra[0]!;
    await writeFile(join(stale, extra.fileName), await readFile(extra.path));
    await mkdir(join(workdir, 'cache'), { recursive: true });
    await writeFile(join(workdir, 'cache', 'marker'), 'old');

    const out = join(world.dir, 'clean.tar');
    const v2 = world.fixtures.packages.v2;
    const run = await agent(['download', '--workdir', workdir, '--clean', '--receiver-command', receiver(out, await acceptedReply(world.fixtures, v2))]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('cache cleaned');
    expect([...(await decodeCaptured(out)).keys()].sort()).toEqual(v2.map((p) => p.fileName).sort());
    expect(await readdir(join(workdir, 'runs'))).toEqual([]);
    expect(await readdir(join(workdir, 'cache'))).not.toContain('marker');
  });

  it('reports a dnf killed by SIGKILL from outside as a dnf failure naming the signal, without its command line', async () => {
    // as the OOM killer or a person would: dnf ends by SIGKILL halfway through the download
    const { run } = await downloadWithStandIn('dnf-killed', 'dnf', '#!/bin/sh\nif [ "$1" = "--version" ]; then echo 4.14.0; exit 0; fi\necho "Downloading Packages:"\nkill -KILL $$\n');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('updatevm-agent: error: dnf was killed by SIGKILL, not by this agent');
    expect(run.stderr).toMatch(/\[DNF_FAILED\]$/);
    expect(run.stderr).not.toContain('could not be run');
    expect(run.stderr).not.toContain('--installroot');
  });

  it('never says "no updates" when dnf said it would download and ended well with nothing in the run directory', async () => {
    // as dnf5's install did with only --destdir (which it lacks): the packages went to its cache
    const { run } = await downloadWithStandIn('download-elsewhere', 'dnf', '#!/bin/sh\nif [ "$1" = "--version" ]; then echo 4.14.0; exit 0; fi\necho "Total download size: 18 k"\necho "Downloading Packages:"\nexit 0\n');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('dnf said it would download 18.0 KiB and ended without an error, but no package reached this run\'s download directory');
    expect(run.stderr).toMatch(/\[DNF_FAILED\]$/);
    expect(run.stdout).not.toContain('no updates');
  });

  it('runs a dnf5 with its command first and the run directory as its destdir setting', async () => {
    const argsFile = join(world.dir, 'dnf5-args');
    const { workdir, run } = await downloadWithStandIn('dnf5-argv', 'dnf5', `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\nexit 0\n`);
    expect(run.exitCode, run.stderr).toBe(0);
    const args = (await readFile(argsFile, 'utf8')).trimEnd().split('\n');
    expect(args[0]).toBe('upgrade');
    expect(args).toContain('--downloadonly');
    const destdirs = args.filter((a) => a.startsWith('--setopt=destdir='));
    expect(destdirs).toHaveLength(1);
    expect(destdirs[0]).toMatch(new RegExp(`^--setopt=destdir=${join(workdir, 'runs')}/[^/]+$`));
    expect(args.some((a) => a.startsWith('--destdir') || a.startsWith('--downloaddir'))).toBe(false);
  });

  it("reports dnf5's download stage from its total (dnf5's install and upgrade print no \"Downloading Packages:\")", async () => {
    const { run } = await downloadWithStandIn('dnf5-stage', 'dnf5', '#!/bin/sh\necho " Upgrading:          2 packages"\necho "Total size of inbound packages is 1 MiB. Need to download 1 MiB." >&2\nexit 0\n', ['--json-progress']);
    expect(run.exitCode).toBe(1);
    expect(jsonLines(run.stdout)).toContainEqual({ stage: 'download', done: 0, total: 2, percent: 0 });
    expect(run.stderr).toMatch(/no package reached this run's download directory.*\[DNF_FAILED\]$/s);
  });

  it("stops a dnf5 whose package body grows far past the total it gave on stderr (PACKAGE_DOWNLOAD_FAILED)", async () => {
    const { run } = await downloadWithStandIn('dnf5-endless', 'dnf5', '#!/bin/sh\nfor a in "$@"; do case "$a" in --setopt=destdir=*) d=${a#--setopt=destdir=};; esac; done\necho "Total size of inbound packages is 1 MiB. Need to download 1 MiB." >&2\nhead -c 33554432 /dev/zero > "$d/a-1-1.noarch.rpm"\nexec sleep 60\n');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("the mirror sent 32.0 MiB where dnf's transaction gives 2.0 MiB in all");
    expect(run.stderr).toMatch(/\[PACKAGE_DOWNLOAD_FAILED\]$/);
  });

  it('removes the download directory an agent killed by SIGKILL left behind at the next run, and says so', async () => {
    const workdir = await syncedWorkdir(world, 'killed-agent');
    const mark = join(world.dir, 'half-download.pid');
    // a dnf that leaves a partial package in the run directory and waits there
    const path = await pathWith('half-download-bin', 'dnf', '#!/bin/sh\nif [ "$1" = "--version" ]; then echo 4.14.0; exit 0; fi\nfor a in "$@"; do case "$a" in --downloaddir=*) d=${a#--downloaddir=};; esac; done\necho partial > "$d/half.rpm"\necho $$ > "$MARK"\nexec sleep 120\n');
    const first = spawn(process.execPath, [BUNDLE, 'download', '--workdir', workdir, '--receiver-command', receiver(join(world.dir, 'killed.tar'), 'x')], {
      env: { PATH: path, MARK: mark },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => first.once('exit', resolve));
    let dnfPid: number | undefined;
    for (let i = 0; i < 400 && dnfPid === undefined; i++) {
      dnfPid = await readFile(mark, 'utf8').then((t) => Number(t.trim()) || undefined, () => undefined);
      if (dnfPid === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    first.kill('SIGKILL');
    await exited;
    if (dnfPid !== undefined) process.kill(dnfPid, 'SIGKILL');
    const left = await readdir(join(workdir, 'runs'));
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(new RegExp(`^run-\\d+-${String(first.pid)}-\\d+-\\w{6}$`));

    const v2 = world.fixtures.packages.v2;
    const out = join(world.dir, 'after-kill.tar');
    const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(out, await acceptedReply(world.fixtures, v2))]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(`removed 1 download directory left by agent runs that were killed: ${left[0] ?? ''}`);
    expect(await readdir(join(workdir, 'runs'))).toEqual([]);
    expect([...(await decodeCaptured(out)).keys()].sort()).toEqual(v2.map((p) => p.fileName).sort());
  }, 60_000);

  it('keeps, when it sweeps, the download directory of a live agent, names it does not own, and what a symlink points to', async () => {
    const workdir = await syncedWorkdir(world, 'sweep-safely');
    const runs = join(workdir, 'runs');
    const outside = join(world.dir, 'sweep-outside');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'keep.rpm'), 'x');
    // a live process standing for a concurrent agent, by its pid and its start time
    const live = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const liveStart = (await readFile(`/proc/${String(live.pid)}/stat`, 'utf8')).split(') ')[1]?.split(' ')[19] ?? '';
      const ns = /\d+/.exec(await readlink('/proc/self/ns/pid'))?.[0] ?? '';
      const liveDir = `run-${ns}-${String(live.pid)}-${liveStart}-abcdef`;
      // the same pid with another start time: the pid was reused, its agent is gone
      const reused = `run-${ns}-${String(live.pid)}-1-ghijkl`;
      // another pid namespace's pid means nothing here
      const foreign = `run-1${ns}-${String(live.pid)}-1-stuvwx`;
      for (const name of [liveDir, reused, foreign, 'run-Ab12Cd']) await mkdir(join(runs, name), { recursive: true });
      await symlink(outside, join(runs, reused, 'link'));
      await symlink(outside, join(runs, `run-${ns}-${String(live.pid)}-2-mnopqr`));
      const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(join(world.dir, 'sweep.tar'), await acceptedReply(world.fixtures, world.fixtures.packages.v2))]);
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toContain(`removed 1 download directory left by agent runs that were killed: ${reused}`);
      expect((await readdir(runs)).sort()).toEqual([liveDir, foreign, `run-${ns}-${String(live.pid)}-2-mnopqr`, 'run-Ab12Cd'].sort());
      expect(await readdir(outside)).toEqual(['keep.rpm']);
    } finally {
      live.kill('SIGKILL');
    }
  });

  it('reports dnf missing when neither dnf nor dnf5 is on PATH', async () => {
    const workdir = await syncedWorkdir(world, 'nodnf');
    const run = await agent(['download', '--workdir', workdir, '--check-only'], { env: { PATH: join(world.dir, 'empty-bin') } });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('dnf is not installed');
    expect(run.stderr).toContain('DNF_MISSING');
  });

  it('runs dnf under its memory limit with nothing but dnf on PATH (no util-linux needed)', async () => {
    const workdir = await syncedWorkdir(world, 'dnf-only-path');
    const bin = join(world.dir, 'dnf-only-bin');
    await mkdir(bin, { recursive: true });
    await symlink('/usr/bin/dnf', join(bin, 'dnf'));
    const run = await agent(['download', '--workdir', workdir, '--check-only'], { env: { PATH: bin } });
    expect(run.stderr).not.toContain('DNF_');
    expect(run.exitCode).toBe(100);
  });

  it('reports the package dom0 rejected and why, and exits 1', async () => {
    const workdir = await syncedWorkdir(world, 'rejected');
    const out = join(world.dir, 'rejected.tar');
    const reply = rejectedReply('RPM_UNTRUSTED_KEY', 'dom0-tool-2.0-1.noarch.rpm', 'signed by a key that is not pinned');
    const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(out, reply)]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      'updatevm-agent: error: dom0 rejected package dom0-tool-2.0-1.noarch.rpm because signed by a key that is not pinned [RPM_UNTRUSTED_KEY]',
    );
    // the code is said once, in the brackets
    expect(run.stderr.match(/RPM_UNTRUSTED_KEY/g)).toHaveLength(1);
  });

  it('reports a rejection sent before the receiver read the whole stream', async () => {
    const workdir = await syncedWorkdir(world, 'early');
    const out = join(world.dir, 'early.tar');
    const reply = rejectedReply('TAR_BAD_NAME', 'dom0-hello-2.0-1.noarch.rpm', 'the name is not allowed');
    const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(out, reply, 'early')]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('dom0 rejected package dom0-hello-2.0-1.noarch.rpm because the name is not allowed');
  });

  it('treats a receiver that ends without a reply as a transport failure (125)', async () => {
    const workdir = await syncedWorkdir(world, 'noreply');
    const out = join(world.dir, 'noreply.tar');
    const run = await agent(['download', '--workdir', workdir, '--receiver-command', receiver(out, 'x', 'exit:3')]);
    expect(run.exitCode).toBe(125);
    expect(run.stderr).toContain('NO_REPLY');
  });

  it('calls qubes.ReceiveUpdates+v1 through qrexec-client-vm and maps a policy denial to 126', async () => {
    const workdir = await syncedWorkdir(world, 'qrexec');
    const bin = join(world.dir, 'qrexec-bin');
    await mkdir(bin, { recursive: true });
    const argsFile = join(world.dir, 'qrexec-args');
    await writeFile(join(bin, 'qrexec-client-vm'), `#!/bin/sh\necho "$@" > '${argsFile}'\ncat > /dev/null\nexit 126\n`);
    await chmod(join(bin, 'qrexec-client-vm'), 0o755);
    const run = await agent(['download', '--workdir', workdir, '--transport', 'qrexec'], {
      env: { PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` },
    });
    expect(run.exitCode).toBe(126);
    expect(run.stderr).toContain('POLICY_DENIED');
    expect((await readFile(argsFile, 'utf8')).trim()).toBe('dom0 qubes.ReceiveUpdates+v1');
  });

  it('refuses a transport it cannot use before dnf downloads anything', async () => {
    const workdir = await syncedWorkdir(world, 'no-transport');
    const cases: [string[], string][] = [
      [['--transport', 'qrexec'], 'qrexec-client-vm is not installed (is this a Qubes UpdateVM?); nothing was downloaded'],
      [['--receiver-command', JSON.stringify(['/nonexistent/dom0-receiver'])], 'the receiver command /nonexistent/dom0-receiver is not an executable file'],
    ];
    for (const [args, message] of cases) {
      const run = await agent(['download', '--workdir', workdir, '--json-progress', ...args], { env: { PATH: '/usr/bin:/bin' } });
      expect(run.exitCode).toBe(125);
      expect(run.stderr).toContain(message);
      expect(run.stderr).toContain('[TRANSPORT_MISSING]');
      expect(jsonLines(run.stdout).map((l) => l['stage'])).not.toContain('resolve');
      expect(await readdir(join(workdir, 'runs')).catch(() => [])).toEqual([]);
    }
  });

  it('tells the person to sync first when there is no state', async () => {
    const run = await agent(['download', '--workdir', join(world.dir, 'nothing-here'), '--check-only']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('NO_STATE');
  });
});
