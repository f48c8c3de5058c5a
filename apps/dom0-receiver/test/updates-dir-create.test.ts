import { mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirs } from '../src/updates-dir/make-dirs.ts';
import { encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, readResult, replyError, runReceiver } from './helpers.ts';

// a read-only file system without touching the host's mounts: a private mount namespace (as root
// `unshare -m`; otherwise `unshare -rm`, which needs user namespaces)
const MOUNT_RO = ['unshare', process.getuid?.() === 0 ? '-m' : '-rm', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs -o ro,size=64k tmpfs "$0" && exec "$@"'];

describe('a full file system', () => {
  it('says in words that the updates dir\'s file system is full, naming the member', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    // 12 KiB: room for the result record, not for the batch (which --max-bytes lets through)
    const smallTmpfs = ['unshare', process.getuid?.() === 0 ? '-m' : '-rm', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs -o size=12k tmpfs "$0" && exec "$@"', dir];
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs()), '--max-bytes', '100000000'], {
      stdin: await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path)))),
      prefix: smallTmpfs,
    });
    expect(run.code).toBe(1);
    const error = replyError(run);
    expect(error.code).toBe('STAGE_IO');
    expect(run.stderr).toMatch(/rejected dom0-[a-z]+-2\.0-1\.noarch\.rpm: STAGE_IO: cannot stage: the updates dir's file system is full \(ENOSPC\)/);
  });

  it('says a full file system in words wherever the batch runs out of room: staging, publishing or createrepo_c', { timeout: 120_000 }, async () => {
    const f = await getFixtures();
    const stream = await encodeStream(await Promise.all(f.packages.v2.slice(0, 1).map((p) => fileMember(p.path))));
    const codes = new Set<string>();
    // from no room for the package to room for everything, in 4 KiB (tmpfs page) steps
    for (let kib = 8; kib <= 40; kib += 4) {
      const dir = await makeUpdatesDir();
      const tmpfs = ['unshare', process.getuid?.() === 0 ? '-m' : '-rm', '--propagation', 'private', '--', 'sh', '-c', `mount -t tmpfs -o size=${String(kib)}k tmpfs "$0" && exec "$@"`, dir];
      const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs()), '--max-bytes', '100000000'], { stdin: stream, prefix: tmpfs });
      if (run.code === 0) continue;
      const error = replyError(run);
      codes.add(error.code);
      expect(error.code, `at ${String(kib)} KiB`).toMatch(/^(STAGE_IO|PUBLISH_FAILED|CREATEREPO_FAILED)$/);
      expect(run.stderr, `at ${String(kib)} KiB`).toMatch(/the updates dir's file system (is full \(ENOSPC\)|has only \d+ KiB free, which may be why)/);
    }
    expect([...codes].sort()).toEqual(['CREATEREPO_FAILED', 'PUBLISH_FAILED', 'STAGE_IO']);
  });
});

describe('a machine without createrepo_c', () => {
  it('says that createrepo_c is not installed, and publishes nothing', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    // node alone in PATH: no createrepo_c (and no setpriv or bwrap, which the receiver does without)
    const bin = await makeUpdatesDir();
    await symlink(process.execPath, join(bin, 'node'));
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path)))),
      env: { PATH: bin },
    });
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('CREATEREPO_FAILED');
    expect(run.stderr).toContain('CREATEREPO_FAILED: createrepo_c is not installed (not found in PATH)');
    expect(existsSync(join(dir, 'repo'))).toBe(false);
  });
});

describe('creating the updates dir', () => {
  it('names EROFS, not ENOENT, when the updates dir cannot be created on a read-only file system', async () => {
    const mountPoint = await makeUpdatesDir();
    const updatesDir = join(mountPoint, 'updates');
    const run = await runReceiver(['receive', '--updates-dir', updatesDir, ...(await keyringArgs())], {
      stdin: await encodeStream([]),
      prefix: [...MOUNT_RO, mountPoint],
    });
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('CONFIG_INVALID');
    expect(run.stderr).toContain(`rejected the batch: CONFIG_INVALID: the updates dir ${updatesDir} cannot be used: cannot create it (EROFS)`);
  });

  it('ends at once, naming ENOENT, for an updates dir under /proc (where a recursive mkdir spun forever)', async () => {
    const updatesDir = '/proc/dom0-receiver-nonexistent/updates';
    const run = await runReceiver(['receive', '--updates-dir', updatesDir, ...(await keyringArgs())], {
      stdin: await encodeStream([]),
      killAfterMs: 20_000,
    });
    expect(run.signal).toBeNull();
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('CONFIG_INVALID');
    expect(run.stderr).toContain(`the updates dir ${updatesDir} cannot be used: cannot create it (ENOENT)`);
  });

  it('creates missing parents and takes an existing directory, or a link to one, as it is', async () => {
    const base = await makeUpdatesDir();
    const deep = join(base, 'a', 'b', 'c');
    await makeDirs(deep, 0o755);
    for (const dir of [join(base, 'a'), join(base, 'a', 'b'), deep]) expect((await stat(dir)).isDirectory()).toBe(true);
    await makeDirs(deep, 0o755);
    await symlink(deep, join(base, 'link'));
    await makeDirs(join(base, 'link'), 0o755);
  });

  it("creates the updates dir, its parents and generations 0755 and keeps bubblewrap, whatever the caller's umask", async () => {
    const base = await makeUpdatesDir();
    const updatesDir = join(base, 'a', 'b');
    const run = await runReceiver(['receive', '--updates-dir', updatesDir, ...(await keyringArgs())], {
      stdin: await encodeStream([]),
      prefix: ['sh', '-c', 'umask 077 && exec "$@"', 'sh'],
    });
    expect(run.code, run.stderr).toBe(0);
    for (const dir of [join(base, 'a'), updatesDir, join(updatesDir, 'generations')]) expect((await stat(dir)).mode & 0o777, dir).toBe(0o755);
    expect(run.stderr).not.toContain('without bubblewrap');
  });

  it('fails with the errno of the mkdir that failed: EEXIST for a file in the way, ENOTDIR for a file above', async () => {
    const base = await makeUpdatesDir();
    await writeFile(join(base, 'file'), '');
    await mkdir(join(base, 'dir'));
    await expect(makeDirs(join(base, 'file'), 0o755)).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(makeDirs(join(base, 'file', 'x', 'y'), 0o755)).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDirs('/proc/dom0-receiver-nonexistent/x', 0o755)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(makeDirs('/sys/dom0-receiver-nonexistent/x', 0o755)).rejects.toMatchObject({ code: 'EPERM' });
  });

  for (const sandbox of ['none', 'bwrap']) {
    it(`publishes into an updates dir reached through a symlinked parent, with --sandbox ${sandbox}`, async () => {
      const f = await getFixtures();
      const base = await makeUpdatesDir();
      await mkdir(join(base, 'real'));
      await symlink(join(base, 'real'), join(base, 'link'));
      const updatesDir = join(base, 'link', 'updates');
      const pkg = f.packages.v2[0]!;
      const run = await runReceiver(['receive', '--updates-dir', updatesDir, ...(await keyringArgs()), '--sandbox', sandbox], {
        stdin: await encodeStream([await fileMember(pkg.path)]),
      });
      expect(run.stderr).toContain('published generation');
      expect(run.code).toBe(0);
      expect(await readdir(join(base, 'real', 'updates', 'repo'))).toContain(pkg.fileName);
      expect((await readResult(updatesDir))['status']).toBe('published');
      expect(await leftovers(updatesDir)).toEqual([]);
    });
  }

  it("refuses an updates dir whose real path holds '*', which would widen the stage's write permission", async () => {
    const base = await makeUpdatesDir();
    await mkdir(join(base, 'w*'));
    await symlink(join(base, 'w*'), join(base, 'plain'));
    for (const updatesDir of [join(base, 'w*', 'updates'), join(base, 'plain')]) {
      const run = await runReceiver(['receive', '--updates-dir', updatesDir, ...(await keyringArgs())], { stdin: await encodeStream([]) });
      expect(run.code).toBe(1);
      expect(replyError(run).code).toBe('CONFIG_INVALID');
      expect(run.stderr).toContain("its path contains '*'");
    }
    // a dir it refuses is not created first
    expect(await readdir(join(base, 'w*'))).toEqual([]);
  });
});
