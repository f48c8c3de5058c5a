import { readFile } from 'node:fs/promises';
import { signedVariant } from '@dom0-updates/fixtures';
import { parseReply } from '@dom0-updates/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  encodeStream,
  fileMember,
  getFixtures,
  keyringArgs,
  leftovers,
  makeUpdatesDir,
  publishedTree,
  readResult,
  runReceiver,
} from './helpers.ts';
import { END, header, member, tar } from './tar-bytes.ts';

let dir: string;

beforeAll(async () => {
  const f = await getFixtures();
  dir = await makeUpdatesDir();
  const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
    stdin: await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path)))),
  });
  expect(run.code).toBe(0);
});

/** Sends the stream, expects rejection with `code`, and proves nothing published changed. */
async function expectRejected(stream: Uint8Array, code: string, memberName?: string): Promise<void> {
  const before = await publishedTree(dir);
  expect(Object.keys(before).length).toBeGreaterThan(3);
  const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: stream });
  expect(run.stderr).toContain(code);
  expect(run.code).toBe(1);
  const reply = parseReply(Buffer.from(run.stdout));
  if (reply.status !== 'rejected') throw new Error('expected a rejected reply');
  expect(reply.error.code).toBe(code);
  if (memberName !== undefined) expect(reply.error.member).toBe(memberName);
  expect(reply.packages).toEqual([]);
  expect(await publishedTree(dir)).toEqual(before);
  expect(await leftovers(dir)).toEqual([]);
  const record = await readResult(dir);
  expect(record['status']).toBe('rejected');
  expect((record['rejection'] as { code: string }).code).toBe(code);
  // nothing from the sender reaches the terminal raw
  expect(run.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
}

async function mutated(path: string, edit: (bytes: Buffer) => Buffer): Promise<Buffer> {
  return edit(Buffer.from(await readFile(path)));
}

describe('bad packages in a well-formed stream', () => {
  it('rejects an unsigned package', async () => {
    const f = await getFixtures();
    await expectRejected(await encodeStream([await fileMember(f.unsigned[0]!.path)]), 'RPM_UNSIGNED', f.unsigned[0]!.fileName);
  });

  it('rejects a package signed by a key that is not pinned', async () => {
    const f = await getFixtures();
    await expectRejected(await encodeStream([await fileMember(f.untrusted[0]!.path)]), 'RPM_KEY_NOT_TRUSTED', f.untrusted[0]!.fileName);
  });

  it('rejects a SHA-1 signature', async () => {
    const f = await getFixtures();
    const path = await signedVariant(f.packages.v2[1]!, { key: 'trusted-rsa', digestAlgo: 'sha1' });
    await expectRejected(await encodeStream([await fileMember(path)]), 'RPM_WEAK_HASH');
  });

  it('rejects a payload byte changed', async () => {
    const f = await getFixtures();
    const p = f.packages.v2[0]!;
    const bytes = await mutated(p.path, (b) => {
      b[b.length - 10] = (b[b.length - 10] ?? 0) ^ 0xff;
      return b;
    });
    await expectRejected(await encodeStream([{ name: p.fileName, size: bytes.length, body: [bytes] }]), 'RPM_PAYLOAD_MISMATCH', p.fileName);
  });

  it('rejects bytes appended after the payload', async () => {
    const f = await getFixtures();
    const p = f.packages.v2[0]!;
    const bytes = await mutated(p.path, (b) => Buffer.concat([b, Buffer.from('extra')]));
    await expectRejected(await encodeStream([{ name: p.fileName, size: bytes.length, body: [bytes] }]), 'RPM_TRAILING_DATA', p.fileName);
  });

  it('rejects a truncated package', async () => {
    const f = await getFixtures();
    const p = f.packages.v2[0]!;
    const bytes = await mutated(p.path, (b) => b.subarray(0, 200));
    await expectRejected(await encodeStream([{ name: p.fileName, size: bytes.length, body: [bytes] }]), 'RPM_TRUNCATED', p.fileName);
  });

  it('rejects the whole batch when a bad package follows good ones', async () => {
    const f = await getFixtures();
    const good = await Promise.all(f.packages.v2.slice(0, 2).map((p) => fileMember(p.path)));
    await expectRejected(await encodeStream([...good, await fileMember(f.unsigned[2]!.path)]), 'RPM_UNSIGNED', f.unsigned[2]!.fileName);
  });

  it('rejects a non-rpm file with an rpm name', async () => {
    const text = Buffer.from(`#!/bin/sh\necho pwned\n${'#'.repeat(200)}\n`);
    await expectRejected(await encodeStream([{ name: 'evil-1-1.noarch.rpm', size: text.length, body: [text] }]), 'RPM_BAD_LEAD', 'evil-1-1.noarch.rpm');
  });
});

describe('stream attacks (hand-built tar)', () => {
  const content = Buffer.from('not even an rpm');

  it.each([
    ['../x.rpm', 'TAR_BAD_NAME'],
    ['/abs/x.rpm', 'TAR_BAD_NAME'],
    ['a/../../x.rpm', 'TAR_BAD_NAME'],
    ['..\\x.rpm', 'TAR_BAD_NAME'],
    ['C:x.rpm', 'TAR_BAD_NAME'],
    ['x.txt', 'TAR_BAD_NAME'],
    ['\u001b[31mred.rpm', 'TAR_BAD_NAME'],
  ])('rejects the member name %j', async (name, code) => {
    await expectRejected(tar(member(name, content), END), code);
  });

  it.each([
    ['1', 'TAR_LINK_MEMBER'],
    ['2', 'TAR_LINK_MEMBER'],
    ['5', 'TAR_UNSUPPORTED_TYPE'],
    ['3', 'TAR_UNSUPPORTED_TYPE'],
    ['6', 'TAR_UNSUPPORTED_TYPE'],
    ['x', 'TAR_UNSUPPORTED_TYPE'],
    ['g', 'TAR_UNSUPPORTED_TYPE'],
    ['L', 'TAR_UNSUPPORTED_TYPE'],
    ['S', 'TAR_UNSUPPORTED_TYPE'],
  ])('rejects a member of type %j', async (type, code) => {
    const size = type === '1' || type === '2' || type === '5' ? 0 : content.length;
    await expectRejected(tar(header({ name: 'a-1-1.noarch.rpm', size, type, linkname: '/etc/passwd' }), size === 0 ? new Uint8Array(0) : member('', content).subarray(512), END), code);
  });

  it('rejects a symlink followed by a file of the same name', async () => {
    await expectRejected(tar(header({ name: 'a-1-1.noarch.rpm', type: '2', linkname: '/etc/shadow' }), member('a-1-1.noarch.rpm', content), END), 'TAR_LINK_MEMBER');
  });

  it('rejects a wrong header checksum', async () => {
    await expectRejected(tar(header({ name: 'a-1-1.noarch.rpm', size: 0, badChecksum: true }), END), 'TAR_BAD_CHECKSUM');
  });

  it('rejects a wrong magic', async () => {
    await expectRejected(tar(header({ name: 'a-1-1.noarch.rpm', size: 0, magic: 'ustar  \0' }), END), 'TAR_BAD_MAGIC');
  });

  it.each([['00000000012x'], ['\u0080\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0001\u0000'], ['\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00fe\u0000']])(
    'rejects the size field %j',
    async (sizeField) => {
      await expectRejected(tar(header({ name: 'a-1-1.noarch.rpm', sizeField }), END), 'TAR_BAD_NUMBER');
    },
  );

  it('rejects a duplicate name', async () => {
    const f = await getFixtures();
    const bytes = await readFile(f.packages.v2[0]!.path);
    const name = f.packages.v2[0]!.fileName;
    await expectRejected(tar(member(name, bytes), member(name, bytes), END), 'TAR_DUPLICATE_NAME');
  });

  it('rejects a stream cut in the middle of a member', async () => {
    const f = await getFixtures();
    const bytes = await readFile(f.packages.v2[0]!.path);
    await expectRejected(tar(member(f.packages.v2[0]!.fileName, bytes).subarray(0, 2048)), 'TAR_TRUNCATED');
  });

  it('rejects a stream without the end-of-archive marker', async () => {
    const f = await getFixtures();
    const bytes = await readFile(f.packages.v2[0]!.path);
    await expectRejected(tar(member(f.packages.v2[0]!.fileName, bytes)), 'TAR_MISSING_END');
  });

  it('rejects data after the end-of-archive marker', async () => {
    const f = await getFixtures();
    const bytes = await readFile(f.packages.v2[0]!.path);
    await expectRejected(tar(member(f.packages.v2[0]!.fileName, bytes), END, member('b-1-1.noarch.rpm', bytes)), 'TAR_TRAILING_DATA');
  });
});
