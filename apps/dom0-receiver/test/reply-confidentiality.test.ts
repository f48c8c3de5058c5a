// The reply goes to the UpdateVM, which is hostile: it carries a verdict on what was sent, never a
// measurement of dom0. The default byte limit is 90% of the free space of UPDATES_DIR's file
// system (when under 4 GiB); a TAR_MEMBER_TOO_LARGE reply naming that limit tells the UpdateVM
// dom0's free space to the byte, as often as it calls qubes.ReceiveUpdates (which it may do at any
// time), and so when dom0 writes to that file system. Qubes' receiver keeps its reasons in dom0.
import { describe, expect, it } from 'vitest';
import { keyringArgs, makeUpdatesDir, replyError, runReceiver } from './helpers.ts';
import { header } from './tar-bytes.ts';

const MIB = 1024 ** 2;

/** The receiver on a tmpfs of `size` mounted at the updates dir, in a private mount namespace. */
function onTmpfs(size: string, dir: string): string[] {
  return ['unshare', process.getuid?.() === 0 ? '-m' : '-rm', '--propagation', 'private', '--', 'sh', '-c', `mount -t tmpfs -o size=${size} tmpfs "$0" && exec "$@"`, dir];
}

describe("the reply to the UpdateVM and dom0's free space", () => {
  it('does not name a byte limit derived from the free space of UPDATES_DIR', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: Buffer.from(header({ name: 'big-1-1.noarch.rpm', size: 60 * MIB })),
      prefix: onTmpfs('64m', dir),
    });
    expect(run.code).toBe(1);
    const error = replyError(run);
    expect(error.code).toBe('TAR_MEMBER_TOO_LARGE');
    // the sender's own declared size may be echoed; any other figure is dom0's (about 0.9 x 64 MiB here)
    const figures = error.message.replaceAll(String(60 * MIB), '').match(/\d{6,}/g) ?? [];
    expect(figures).toEqual([]);
  });
});
