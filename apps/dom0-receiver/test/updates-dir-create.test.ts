import { mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirs } from '../src/updates-dir/make-dirs.ts';
import { encodeStream, keyringArgs, makeUpdatesDir, replyError, runReceiver } from './helpers.ts';

// a read-only file system without touching the host's mounts: a private mount namespace (as root
// `unshare -m`; otherwise `unshare -rm`, which needs user namespaces)
const MOUNT_RO = ['unshare', process.getuid?.() === 0 ? '-m' : '-rm', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs -o ro,size=64k tmpfs "$0" && exec "$@"'];

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

  it('fails with the errno of the mkdir that failed: EEXIST for a file in the way, ENOTDIR for a file above', async () => {
    const base = await makeUpdatesDir();
    await writeFile(join(base, 'file'), '');
    await mkdir(join(base, 'dir'));
    await expect(makeDirs(join(base, 'file'), 0o755)).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(makeDirs(join(base, 'file', 'x', 'y'), 0o755)).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDirs('/proc/dom0-receiver-nonexistent/x', 0o755)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(makeDirs('/sys/dom0-receiver-nonexistent/x', 0o755)).rejects.toMatchObject({ code: 'EPERM' });
  });
});
