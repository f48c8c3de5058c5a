import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createrepoStandIn, encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, publishedTree, readResult, replyError, runReceiver, startPausedAt, treeHash } from './helpers.ts';

async function receive(updatesDir: string, paths: readonly string[]) {
  const stream = await encodeStream(await Promise.all(paths.map((p) => fileMember(p))));
  const run = await runReceiver(['receive', '--updates-dir', updatesDir, ...(await keyringArgs())], { stdin: stream });
  expect(run.code, run.stderr).toBe(0);
}

const clean = (updatesDir: string, env?: Record<string, string>) => runReceiver(['clean', '--updates-dir', updatesDir], env === undefined ? {} : { env });

/** What dnf reads from the published repository: one line per package. */
function dnfList(repo: string): string[] {
  const cache = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  const out = execFileSync(
    'dnf',
    ['-q', '--disablerepo=*', `--repofrompath=published,${repo}`, '--enablerepo=published', `--setopt=cachedir=${cache}`, '--setopt=published.gpgcheck=0', 'repoquery', '--qf', '%{name}-%{version}-%{release}.%{arch}'],
    { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
  );
  return out.split('\n').filter((l) => l !== '');
}

describe('clean', () => {
  it('publishes an empty repository that dnf reads, and removes every older generation with its packages', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    await receive(dir, f.packages.v2.map((p) => p.path));
    expect(await readdir(join(dir, 'generations'))).toHaveLength(2);
    const before = await readResult(dir);

    const run = await clean(dir);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/emptied the cached repository: \d+ package\(s\), [\d.]+ [KM]iB; generation \d{12}-[0-9a-f]{8} is published with no packages/);

    const target = await readlink(join(dir, 'repo'));
    expect(await readdir(join(dir, 'generations'))).toEqual([target.split('/')[1]]);
    expect((await readdir(join(dir, 'repo'))).filter((n) => n.endsWith('.rpm'))).toEqual([]);
    expect(dnfList(join(dir, 'repo'))).toEqual([]);
    // recorded like an empty batch, with a higher sequence
    const after = await readResult(dir);
    expect(after).toMatchObject({ format: 1, status: 'published', generation: target.split('/')[1], accepted: [] });
    expect(after['sequence']).toBeGreaterThan(before['sequence'] as number);
    expect(await leftovers(dir)).toEqual([]);
  });

  it('fails with "clean incomplete" when an old generation cannot be removed, after publishing the empty repository', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    const old = (await readlink(join(dir, 'repo'))).split('/')[1] ?? '';
    await receive(dir, f.packages.v2.map((p) => p.path));
    // a file system mounted inside the old generation (in the clean's own mount namespace): rm cannot remove its mount point
    const pin = join(dir, 'generations', old, 'pin');
    await mkdir(pin);
    const run = await runReceiver(['clean', '--updates-dir', dir], { prefix: ['unshare', '-m', 'sh', '-c', 'mount -t tmpfs none "$0" && exec "$@"', pin] });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`could not remove generations/${old}`);
    expect(run.stderr).toContain('clean incomplete: 1 old generation(s) could not be removed');
    // the empty repository is published all the same
    expect((await readdir(join(dir, 'repo'))).filter((n) => n.endsWith('.rpm'))).toEqual([]);
    expect((await readdir(join(dir, 'generations'))).sort()).toEqual([old, (await readlink(join(dir, 'repo'))).split('/')[1]].sort());
    // the mount gone with that namespace, the next clean finishes the work and says so
    const again = await runReceiver(['clean', '--updates-dir', dir]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('the cached repository is already empty');
    expect(again.stderr).toContain('removed 1 old generation(s) an earlier clean could not remove');
    expect(await readdir(join(dir, 'generations'))).toEqual([(await readlink(join(dir, 'repo'))).split('/')[1]]);
  });

  it('lets the next batch publish onto the empty repository with a higher sequence', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    expect((await clean(dir)).code).toBe(0);
    const cleaned = (await readResult(dir))['sequence'] as number;
    await receive(dir, f.packages.v2.map((p) => p.path));
    expect((await readResult(dir))['sequence']).toBeGreaterThan(cleaned);
    expect(dnfList(join(dir, 'repo')).sort()).toEqual(f.packages.v2.map((p) => p.nevra).sort());
  });

  it('creates nothing when the updates dir does not exist (a mistyped path), and says so', async () => {
    const parent = await makeUpdatesDir();
    const missing = join(parent, 'a', 'b');
    const run = await clean(missing);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`nothing to clean: ${missing} does not exist`);
    expect(await readdir(parent)).toEqual([]);
  });

  it('says the file system is full, and what frees room, when it cannot even take its lock (a full disk)', async () => {
    const mnt = await mkdtemp(join(tmpdir(), 'clean-full-'));
    const dir = join(mnt, 'updates');
    // in its own mount namespace: a 64 KiB tmpfs, the updates dir in it, then every block filled
    const fill = 'mount -t tmpfs -o size=64k tmpfs "$0" && mkdir "$0/updates" && { dd if=/dev/zero of="$0/fill" bs=4k 2>/dev/null; exec "$@"; }';
    const run = await runReceiver(['clean', '--updates-dir', dir], { prefix: ['unshare', '-m', 'sh', '-c', fill, mnt] });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`CONFIG_INVALID: the updates dir ${dir} cannot be used: cannot take its lock ${join(dir, 'receiver.lock')}: the updates dir's file system is full (ENOSPC); free some room on it first`);
  });

  it('refuses an updates dir that is a file with CONFIG_INVALID', async () => {
    const parent = await makeUpdatesDir();
    await writeFile(join(parent, 'file'), 'x');
    const run = await clean(join(parent, 'file'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/clean failed: CONFIG_INVALID: the updates dir .*file cannot be used: it is not a directory/);
  });

  it('changes nothing when no repository was ever published', async () => {
    const dir = await makeUpdatesDir();
    const run = await clean(dir);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('nothing to clean: no repository is published');
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps an already empty published repository and still removes the generations before it', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    expect((await clean(dir)).code).toBe(0);
    const emptied = await publishedTree(dir);
    const record = await readResult(dir);
    // a generation left from before (as a crash between publication and pruning leaves one)
    await mkdir(join(dir, 'generations', '000000000001-00000000'));
    const again = await clean(dir);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('the cached repository is already empty');
    expect(await publishedTree(dir)).toEqual(emptied);
    expect(await readResult(dir)).toEqual(record);
    expect(await readdir(join(dir, 'generations'))).toHaveLength(1);
  });

  it('leaves the published repository byte for byte as it was when createrepo_c fails', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    const published = await publishedTree(dir);
    const record = await readResult(dir);
    const failing = await createrepoStandIn(() => 'echo "createrepo_c: out of luck" >&2\nexit 1\n');
    const run = await clean(dir, { PATH: failing.path });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/clean failed: CREATEREPO_FAILED: createrepo_c failed \(exit 1\): createrepo_c: out of luck.*the published repository is as it was before/);
    expect(await publishedTree(dir)).toEqual(published);
    expect(await readResult(dir)).toEqual(record);
    expect(await readdir(join(dir, 'generations'))).toHaveLength(1);
    expect(await leftovers(dir)).toEqual([]);
  });

  it('says a createrepo_c killed by a signal it did not send was killed, and by which', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    const published = await publishedTree(dir);
    const killed = await createrepoStandIn(() => 'kill -9 $$\n');
    const run = await clean(dir, { PATH: killed.path });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('clean failed: CREATEREPO_FAILED: createrepo_c failed (killed by SIGKILL, not by this receiver): it printed nothing');
    expect(await publishedTree(dir)).toEqual(published);
  });

  it('fails, saying so, when the empty repository is published but its result record cannot be written', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    // a result.json that cannot be replaced: what a full disk does to the record's write
    await rm(join(dir, 'result.json'));
    await mkdir(join(dir, 'result.json', 'x'), { recursive: true });
    const run = await clean(dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the empty repository is published, but the result record could not be written (EISDIR): it still describes the batch before the clean');
    expect(dnfList(join(dir, 'repo'))).toEqual([]);
    expect(await leftovers(dir)).toEqual([]);
  });

  it('refuses with RECEIVER_BUSY while a receive holds the updates dir, and touches nothing', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    const published = await publishedTree(dir);
    const stream = await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path))));
    const paused = await startPausedAt('after-stage', ['receive', '--updates-dir', dir, ...(await keyringArgs())], stream);
    try {
      const whole = await treeHash(dir);
      const run = await clean(dir);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/clean failed: RECEIVER_BUSY: /);
      expect(await publishedTree(dir)).toEqual(published);
      // nor anything else: the receive's staging, lock and result record
      expect(await treeHash(dir)).toEqual(whole);
    } finally {
      await paused.kill();
    }
  });

  it('replaces a repo link left pointing at a missing generation, which receive refuses to build on', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    const link = await readlink(join(dir, 'repo'));
    await rm(join(dir, link), { recursive: true });

    const stream = await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path))));
    const refused = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: stream });
    expect(refused.code).toBe(1);
    expect(replyError(refused).code).toBe('CONFIG_INVALID');
    expect(refused.stderr).toMatch(/points at generations\/\d{12}-[0-9a-f]{8}, which does not exist .*`dom0-update --clean`/);
    expect(await readlink(join(dir, 'repo'))).toBe(link);
    expect(await readdir(join(dir, 'generations'))).toEqual([]);

    const run = await clean(dir);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`the published generation ${link.split('/')[1] ?? ''} was missing`);
    expect(dnfList(join(dir, 'repo'))).toEqual([]);
    await receive(dir, f.packages.v2.map((p) => p.path));
    expect(dnfList(join(dir, 'repo')).sort()).toEqual(f.packages.v2.map((p) => p.nevra).sort());
  });

  it('refuses, after the same recovery as receive, a generations dir that is a symlink, and removes nothing through it', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    const elsewhere = await mkdtemp(join(tmpdir(), 'dom0-receiver-elsewhere-'));
    await rm(elsewhere, { recursive: true });
    await rename(join(dir, 'generations'), elsewhere);
    await symlink(elsewhere, join(dir, 'generations'));
    const before = await treeHash(elsewhere);
    const run = await clean(dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`clean failed: CONFIG_INVALID: ${dir}/generations exists but is not a directory (a symlink); move it away`);
    expect(await treeHash(elsewhere)).toEqual(before);
  });

  it('refuses a repo that is not a symlink with CONFIG_INVALID and leaves it', async () => {
    const dir = await makeUpdatesDir();
    await mkdir(join(dir, 'repo'));
    const run = await clean(dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/clean failed: CONFIG_INVALID: .*repo exists but is not a symlink/);
    expect((await lstat(join(dir, 'repo'))).isDirectory()).toBe(true);
  });
});

describe('clean as root on an updates dir another user owns (the qrexec service user on Qubes)', () => {
  it.runIf(process.geteuid?.() === 0)('leaves nothing owned by root behind, so that user can prune and build on it', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    const owner = 65534;
    execFileSync('chown', ['-R', `${owner}:${owner}`, dir]);

    const run = await clean(dir);
    expect(run.code, run.stderr).toBe(0);
    const entries = await walk(dir);
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.filter((e) => e.uid !== owner).map((e) => e.path)).toEqual([]);
  });
});

describe('clean as root on a root-owned updates dir the service user writes through its group (Qubes\' /var/lib/qubes/updates, root:qubes 0770)', () => {
  it.runIf(process.geteuid?.() === 0)('works as the owner of the generations, so that user can publish on what it left', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    // what the service user's receive leaves: its own generations and record in root's dir
    const owner = 65534;
    execFileSync('chown', ['-R', `${owner}:${owner}`, dir]);
    execFileSync('chown', [`0:${owner}`, dir]);
    await chmod(dir, 0o770);

    const run = await clean(dir);
    expect(run.code, run.stderr).toBe(0);
    const entries = await walk(dir);
    expect(entries.filter((e) => e.uid !== owner).map((e) => e.path)).toEqual([]);
    // the service user's next receive builds on the empty generation (hard-linking its metadata)
    const stream = await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path))));
    const asOwner = ['setpriv', `--reuid=${owner}`, `--regid=${owner}`, `--groups=${owner}`, '--'];
    const again = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: stream, prefix: asOwner });
    expect(again.code, again.stderr).toBe(0);
    expect(dnfList(join(dir, 'repo')).sort()).toEqual(f.packages.v2.map((p) => p.nevra).sort());
  });

  it.runIf(process.geteuid?.() === 0)('takes no identity from a generations symlink: refused before root works as anyone', async () => {
    const dir = await makeUpdatesDir();
    const victim = await mkdtemp(join(tmpdir(), 'dom0-receiver-victim-'));
    execFileSync('chown', ['4242:4242', victim]);
    execFileSync('chown', ['0:65534', dir]);
    await chmod(dir, 0o770);
    await symlink(victim, join(dir, 'generations'));
    // refused before the lock, which clean takes once it works as the publisher: a clean that
    // reached the lock would stop at this test pause and be killed
    const pause = { DOM0_RECEIVER_TEST_HOOKS: '1', DOM0_RECEIVER_TEST_PAUSE: 'lock-file-filled' };
    const run = await runReceiver(['clean', '--updates-dir', dir], { env: pause, killAfterMs: 20_000 });
    expect(run.stderr).not.toContain('test pause at lock-file-filled');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`clean failed: CONFIG_INVALID: ${dir}/generations exists but is not a directory (a symlink); move it away`);
    await rm(victim, { recursive: true, force: true });
  });

  it.runIf(process.geteuid?.() === 0)('stays root on a root-owned dir its group cannot write, where the owner of generations could not work', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    await receive(dir, f.packages.v1.map((p) => p.path));
    execFileSync('chown', ['-R', '65534:65534', join(dir, 'generations')]);
    execFileSync('chown', ['0:0', dir]);
    await chmod(dir, 0o755);
    const run = await clean(dir);
    expect(run.code, run.stderr).toBe(0);
    expect(dnfList(join(dir, 'repo'))).toEqual([]);
  });
});

describe('clean as root, working as the owner of the updates dir or of its generations', () => {
  // the updates dir the owner's own, or root's and writable through the owner's group (Qubes)
  it.runIf(process.geteuid?.() === 0).each([['its own dir', false], ["root's dir, through its group", true]] as const)(
    "keeps none of root's groups in %s: a generation only root's group may change is left, and said so",
    async (_layout, rootsDir) => {
      const f = await getFixtures();
      const dir = await makeUpdatesDir();
      await receive(dir, f.packages.v1.map((p) => p.path));
      const old = (await readlink(join(dir, 'repo'))).split('/')[1] ?? '';
      await receive(dir, f.packages.v2.map((p) => p.path));
      const owner = 65534;
      execFileSync('chown', ['-R', `${owner}:${owner}`, dir]);
      if (rootsDir) {
        execFileSync('chown', [`0:${owner}`, dir]);
        await chmod(dir, 0o770);
      }
      // writable by root's group alone: the owner, working without root's groups, cannot empty it
      execFileSync('chown', ['0:0', join(dir, 'generations', old)]);
      await chmod(join(dir, 'generations', old), 0o770);

      // root as dom0-update runs it, in root's group
      const run = await runReceiver(['clean', '--updates-dir', dir], { prefix: ['setpriv', '--groups', '0', '--'] });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`could not remove generations/${old} (EACCES)`);
      expect(run.stderr).toContain('clean incomplete: 1 old generation(s) could not be removed');
      expect(await readdir(join(dir, 'generations'))).toContain(old);
    },
  );
});

async function walk(dir: string): Promise<{ path: string; uid: number }[]> {
  const out: { path: string; uid: number }[] = [];
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const st = await lstat(path);
    out.push({ path, uid: st.uid });
    if (st.isDirectory()) out.push(...(await walk(path)));
  }
  return out;
}
