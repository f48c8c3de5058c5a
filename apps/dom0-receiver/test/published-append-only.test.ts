import { copyFile, mkdtemp, readdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, publishedTree, publishedV1, readResult, replyError, runReceiver, sha256 } from './helpers.ts';

async function receive(dir: string, stream: Uint8Array, env: Record<string, string> = {}) {
  return runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: stream, env });
}

describe('the file name a package is published under', () => {
  it.each([
    ['a name of the sender\'s choosing', 'zzz-9.9-1.noarch.rpm'],
    ['the name of another version', 'dom0-hello-1.0-1.noarch.rpm'],
    ['a name that differs only in the release', 'dom0-hello-2.0-2.noarch.rpm'],
  ])('must be the verified name-version-release.arch.rpm, not %s', async (_what, name) => {
    const f = await getFixtures();
    const pkg = f.packages.v2.find((p) => p.fileName === 'dom0-hello-2.0-1.noarch.rpm');
    if (pkg === undefined) throw new Error('fixture dom0-hello-2.0-1 missing');
    const dir = await makeUpdatesDir();
    const run = await receive(dir, await encodeStream([await fileMember(pkg.path, name)]));
    expect(run.code).toBe(1);
    const error = replyError(run);
    expect(error.code).toBe('RPM_FILE_NAME_MISMATCH');
    expect(error.member).toBe(name);
    expect(error.message).toContain('dom0-hello-2.0-1.noarch.rpm');
    expect(error.message).toContain(name);
    expect(run.stderr).toContain('RPM_FILE_NAME_MISMATCH');
    expect(await publishedTree(dir)).toEqual({});
    expect((await readResult(dir))['rejection']).toMatchObject({ code: 'RPM_FILE_NAME_MISMATCH', member: name });
    expect(await leftovers(dir)).toEqual([]);
  });
});

describe('a package whose file name is already published', () => {
  it('with the same bytes is accepted and the published generation stays as it is', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    expect((await receive(dir, await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path)))))).code).toBe(0);
    const before = await publishedTree(dir);
    const resent = f.packages.v1[0];
    if (resent === undefined) throw new Error('no v1 fixture');
    const again = await receive(dir, await encodeStream([await fileMember(resent.path)]), { DOM0_RECEIVER_PROFILE: '1' });
    expect(again.code).toBe(0);
    expect(await publishedTree(dir)).toEqual(before);
    // nothing new to index: createrepo_c did not run
    expect(again.stderr).not.toMatch(/createrepo-read#/);
    const record = await readResult(dir);
    expect(record['status']).toBe('published');
    expect(record['generation']).toBe((await readlink(join(dir, 'repo'))).replace('generations/', ''));
    expect((record['accepted'] as { file: string }[]).map((a) => a.file)).toEqual([resent.fileName]);
  });

  it('with different bytes (another build of the same NEVRA) is rejected and the repository is unchanged', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    expect((await receive(dir, await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path)))))).code).toBe(0);
    const before = await publishedTree(dir);
    const rebuilt = f.rpmv3.find((p) => f.packages.v2.some((q) => q.fileName === p.fileName));
    if (rebuilt === undefined) throw new Error('no rpmv3 fixture shares a name with v2');
    const original = f.packages.v2.find((q) => q.fileName === rebuilt.fileName);
    const run = await receive(dir, await encodeStream([await fileMember(rebuilt.path)]));
    expect(run.code).toBe(1);
    const error = replyError(run);
    expect(error.code).toBe('RPM_CONFLICTS_PUBLISHED');
    expect(error.member).toBe(rebuilt.fileName);
    expect(error.message).toContain(sha256(await readFile(rebuilt.path)));
    expect(error.message).toContain(sha256(await readFile(original?.path ?? '')));
    expect(await publishedTree(dir)).toEqual(before);
    expect(await leftovers(dir)).toEqual([]);
  });
});

describe('a published generation that holds something other than a regular package file', () => {
  it('stops the next publication with CONFIG_INVALID instead of leaving that package out of the new generation', async () => {
    const f = await getFixtures();
    const dir = await publishedV1();
    // by hand or by damage: a published package replaced by a symlink to a copy of it
    const victim = f.packages.v1[0];
    if (victim === undefined) throw new Error('no v1 fixture');
    const published = join(dir, 'repo', victim.fileName);
    const copy = join(await mkdtemp(join(tmpdir(), 'outside-')), victim.fileName);
    await copyFile(published, copy);
    await rm(published);
    await symlink(copy, published);
    const before = await publishedTree(dir);
    const generationsBefore = await readdir(join(dir, 'generations'));

    const run = await receive(dir, await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path)))));
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('CONFIG_INVALID');
    expect(run.stderr).toContain(`holds ${victim.fileName}, which is not a regular file`);
    expect(await publishedTree(dir)).toEqual(before);
    expect(await readdir(join(dir, 'generations'))).toEqual(generationsBefore);
    expect(await leftovers(dir)).toEqual([]);
    // the way out the message names
    expect((await runReceiver(['clean', '--updates-dir', dir])).code).toBe(0);
    expect((await receive(dir, await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path)))))).code).toBe(0);
  });
});
