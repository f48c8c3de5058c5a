import { describe, expect, it } from 'vitest';
import { coarseBytes, resolveLimits } from '../src/config/limits.ts';
import { UsageError } from '../src/errors.ts';
import { keyringArgs, leftovers, makeUpdatesDir, replyError, runReceiver, type RunResult } from './helpers.ts';
import { header } from './tar-bytes.ts';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** The receiver on a file system mounted at the updates dir, in a private mount namespace. */
function onMount(mount: string, dir: string): string[] {
  return ['unshare', process.getuid?.() === 0 ? '-m' : '-rm', '--propagation', 'private', '--', 'sh', '-c', `${mount} "$0" && exec "$@"`, dir];
}

/** The receiver on a tmpfs of `size` mounted at the updates dir. */
function onTmpfs(size: string, dir: string): string[] {
  return onMount(`mount -t tmpfs -o size=${size} tmpfs`, dir);
}

/** One member header declaring `size` bytes, and nothing after it: only the header's check can answer. */
async function receiveHeaderOnly(size: number, tmpfsSize: string, env: Record<string, string> = {}): Promise<{ run: RunResult; dir: string }> {
  const dir = await makeUpdatesDir();
  const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
    stdin: Buffer.from(header({ name: 'big-1-1.noarch.rpm', size })),
    prefix: onTmpfs(tmpfsSize, dir),
    env,
  });
  return { run, dir };
}

/** The limit a TAR_MEMBER_TOO_LARGE rejection names in dom0's log (the reply to the UpdateVM names none). */
function limitNamed(run: RunResult): number {
  const error = replyError(run);
  expect(error.code).toBe('TAR_MEMBER_TOO_LARGE');
  expect(error.message).not.toMatch(/\d{4,}/);
  const limit = /TAR_MEMBER_TOO_LARGE: size \d+ exceeds the limit of (\d+) bytes/.exec(run.stderr)?.[1];
  expect(limit).toBeDefined();
  return Number(limit);
}

describe('the default limits, set by dom0 and never by the sender', () => {
  it('caps a batch at 90% of the updates dir\'s free space beyond a reserve when that is under 4 GiB', async () => {
    const { run, dir } = await receiveHeaderOnly(60 * MIB, '64m');
    expect(run.code).toBe(1);
    const limit = limitNamed(run);
    // 90% of what is left of 64 MiB once the receiver's own directories and lock are made, less
    // the reserve (5% of 64 MiB), rounded down to a coarse step: 0.9 * (64 - 3.2) = 54.7 -> 48 MiB
    expect(limit).toBe(48 * MIB);
    expect(await leftovers(dir)).toEqual([]);
  });

  it('keeps the reserve free however full the file system already is: batch after batch cannot fill it', async () => {
    // 56 MiB of the 64 already taken (earlier batches): 8 MiB free, 3.2 MiB of it the reserve,
    // so the cap is 0.9 * 4.8 = 4.3 -> 4 MiB (without the reserve it would be 7 MiB)
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: Buffer.from(header({ name: 'big-1-1.noarch.rpm', size: 5 * MIB })),
      prefix: onMount(`mount -t tmpfs -o size=64m tmpfs "$0" && head -c ${56 * MIB} /dev/zero > "$0/earlier-batches" && :`, dir),
    });
    expect(run.code).toBe(1);
    expect(limitNamed(run)).toBe(4 * MIB);
  });

  it('lets a member under that cap past its header (the stream then ends early)', async () => {
    const { run } = await receiveHeaderOnly(44 * MIB, '64m');
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('TAR_TRUNCATED');
  });

  it('caps a batch at 4 GiB on a file system that reports no size (ramfs), not at 0', async () => {
    const dir = await makeUpdatesDir();
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: Buffer.from(header({ name: 'big-1-1.noarch.rpm', size: 4 * GIB + 1 })),
      prefix: onMount('mount -t ramfs ramfs', dir),
    });
    expect(run.code).toBe(1);
    expect(limitNamed(run)).toBe(4 * GIB);
  });

  it('caps a batch at 4 GiB where 90% of the free space is more', async () => {
    // a tmpfs's size is only a bound: nothing is allocated for the 8 GiB
    const { run } = await receiveHeaderOnly(4 * GIB + 1, '8g');
    expect(run.code).toBe(1);
    expect(limitNamed(run)).toBe(4 * GIB);
  });

  it('takes UPDATES_MAX_BYTES from dom0\'s environment over the free-space default', async () => {
    const { run } = await receiveHeaderOnly(1001, '64m', { UPDATES_MAX_BYTES: '1000' });
    expect(run.code).toBe(1);
    expect(limitNamed(run)).toBe(1000);
  });
});

describe('the free-space cap, in coarse steps', () => {
  it('rounds down to 4, 5, 6 or 7 times a power of two', () => {
    expect([0, 7, 8, 9, 10, 11, 12, 15, 16].map(coarseBytes)).toEqual([0, 7, 8, 8, 10, 10, 12, 14, 16]);
    expect(coarseBytes(Math.floor(64 * MIB * 0.9))).toBe(56 * MIB);
    expect(coarseBytes(GIB - 1)).toBe(896 * MIB);
    expect(coarseBytes(3 * GIB + 5)).toBe(3 * GIB);
  });

  it('tells apart free spaces a step apart, and no closer', () => {
    // 1 MiB of difference inside a step gives the same cap: the UpdateVM cannot see it
    expect(coarseBytes(100 * MIB)).toBe(coarseBytes(99 * MIB));
    for (let bytes = 1024; bytes < 4 * GIB; bytes = Math.floor(bytes * 1.37)) {
      const cap = coarseBytes(bytes);
      expect(cap).toBeLessThanOrEqual(bytes);
      expect(cap).toBeGreaterThan(bytes * 0.8 - 1);
    }
  });
});

describe('resolveLimits', () => {
  const none = { maxFiles: undefined, maxBytes: undefined, timeoutSeconds: undefined, idleTimeoutSeconds: undefined };

  it('defaults to Qubes\' 4096 files, two hours for a batch and five idle minutes', async () => {
    const limits = await resolveLimits(none, {}, await makeUpdatesDir());
    expect(limits.maxMembers).toBe(4096);
    expect([limits.overallTimeoutMs, limits.idleTimeoutMs]).toEqual([7_200_000, 300_000]);
    expect(limits.maxMemberBytes).toBe(limits.maxTotalBytes);
  });

  it('never waits longer idle than the whole batch may take', async () => {
    const limits = await resolveLimits({ ...none, timeoutSeconds: 60 }, {}, await makeUpdatesDir());
    expect([limits.overallTimeoutMs, limits.idleTimeoutMs]).toEqual([60_000, 60_000]);
  });

  it('takes flags over UPDATES_MAX_FILES and UPDATES_MAX_BYTES, and an empty variable as unset', async () => {
    const dir = await makeUpdatesDir();
    const env = { UPDATES_MAX_FILES: '7', UPDATES_MAX_BYTES: '9000' };
    expect(await resolveLimits(none, env, dir)).toMatchObject({ maxMembers: 7, maxTotalBytes: 9000 });
    expect(await resolveLimits({ ...none, maxFiles: 3, maxBytes: 500 }, env, dir)).toMatchObject({ maxMembers: 3, maxTotalBytes: 500 });
    expect((await resolveLimits(none, { UPDATES_MAX_FILES: '' }, dir)).maxMembers).toBe(4096);
    expect((await resolveLimits(none, { UPDATES_MAX_FILES: '4096' }, dir)).maxMembers).toBe(4096);
  });

  it('refuses a variable that is not a positive decimal integer as a usage error', async () => {
    const dir = await makeUpdatesDir();
    for (const bad of ['0x10', '-1', '1e9', ' 5', 'many', '4097']) {
      await expect(resolveLimits(none, { UPDATES_MAX_FILES: bad }, dir)).rejects.toBeInstanceOf(UsageError);
    }
  });
});
