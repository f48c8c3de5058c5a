import { createHash } from 'node:crypto';
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishError } from '../src/errors.ts';
import { runCreaterepo } from '../src/publish/createrepo.ts';
import { checkRepodata } from '../src/publish/repodata-check.ts';
import { createrepoStandIn, encodeStream, fileMember, getFixtures, keyringArgs, leftovers, publishedTree, publishedV1, readResult, replyError, runReceiver } from './helpers.ts';

let work: string;
/** A repository with real createrepo_c metadata, copied for each case. */
let good: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'repodata-check-'));
  const f = await getFixtures();
  good = join(work, 'good');
  await mkdir(good);
  for (const p of f.packages.v1) await copyFile(p.path, join(good, p.fileName));
  await runCreaterepo(good, await mkdtemp(join(work, 'scratch-')));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

let copies = 0;
async function damaged(damage: (repodata: string, repomd: string) => Promise<void>): Promise<PublishError> {
  copies += 1;
  const dir = join(work, `copy-${String(copies)}`);
  await cp(good, dir, { recursive: true });
  const repodata = join(dir, 'repodata');
  await damage(repodata, join(repodata, 'repomd.xml'));
  const error: unknown = await checkRepodata(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof PublishError)) throw new Error(`expected a PublishError, got ${String(error)}`);
  expect(error.code).toBe('CREATEREPO_FAILED');
  return error;
}

async function primaryOf(repodata: string): Promise<string> {
  const name = (await readdir(repodata)).find((n) => n.endsWith('-primary.xml.gz'));
  if (name === undefined) throw new Error('no primary');
  return name;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Writes the primary record's (compressed) size and SHA-256 for `bytes` into repomd.xml, leaving its open-size and open-checksum. */
async function relist(repomd: string, bytes: Uint8Array): Promise<void> {
  const text = await readFile(repomd, 'utf8');
  const record = /<data type="primary">[\s\S]*?<\/data>/.exec(text)?.[0] ?? '';
  const fixed = record
    .replace(/<checksum type="sha256">[0-9a-f]{64}<\/checksum>/, `<checksum type="sha256">${sha256(bytes)}</checksum>`)
    .replace(/<size>\d+<\/size>/, `<size>${String(bytes.length)}</size>`);
  await writeFile(repomd, text.replace(record, fixed));
}

describe('checkRepodata: what createrepo_c left must be whole before a switch', () => {
  it('passes real createrepo_c metadata', async () => {
    await expect(checkRepodata(good)).resolves.toBeUndefined();
  });

  it('refuses an empty repomd.xml (createrepo_c on a full disk renames it into place and exits 0)', async () => {
    const error = await damaged((_, repomd) => truncate(repomd, 0));
    expect(error.message).toBe('createrepo_c exited 0, but the metadata it left is not whole: repomd.xml is empty');
  });

  it('refuses a repomd.xml cut short', async () => {
    const error = await damaged(async (_, repomd) => truncate(repomd, Math.floor((await readFile(repomd)).length / 2)));
    expect(error.message).toContain('repomd.xml is cut short');
  });

  it('refuses a repomd.xml without a filelists record', async () => {
    const error = await damaged(async (_, repomd) => writeFile(repomd, (await readFile(repomd, 'utf8')).replace(/<data type="filelists">[\s\S]*?<\/data>/, '')));
    expect(error.message).toContain('repomd.xml has no filelists record');
  });

  it('refuses a metadata file that is missing', async () => {
    const error = await damaged(async (repodata) => rm(join(repodata, await primaryOf(repodata))));
    expect(error.message).toMatch(/primary \([0-9a-f]{64}-primary\.xml\.gz\) is missing \(ENOENT\)/);
  });

  it('refuses a metadata file of the right size whose bytes differ', async () => {
    const error = await damaged(async (repodata) => {
      const path = join(repodata, await primaryOf(repodata));
      const bytes = await readFile(path);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
      await writeFile(path, bytes);
    });
    expect(error.message).toContain('does not match its SHA-256 in repomd.xml');
  });

  it('refuses a file that decompresses to other bytes of the size repomd.xml names, its own size and SHA-256 relisted', async () => {
    const error = await damaged(async (repodata, repomd) => {
      const name = await primaryOf(repodata);
      const plain = gunzipSync(await readFile(join(repodata, name)));
      const at = plain.indexOf('<name>') + '<name>'.length;
      plain[at] = plain[at] === 0x41 ? 0x42 : 0x41; // one letter of a package name: same size, other bytes
      const packed = gzipSync(plain);
      await writeFile(join(repodata, name), packed);
      await relist(repomd, packed);
    });
    expect(error.message).toMatch(/primary \(.*\) does not decompress to the size and SHA-256/);
  });

  it('refuses a file cut short on write even when repomd.xml lists its cut size and SHA-256', async () => {
    const error = await damaged(async (repodata, repomd) => {
      const name = await primaryOf(repodata);
      const path = join(repodata, name);
      const cut = (await readFile(path)).subarray(0, 100);
      await writeFile(path, cut);
      await relist(repomd, cut);
    });
    expect(error.message).toMatch(/primary \(.*\) does not decompress/);
  });
});

describe('checkRepodata: the files repomd.xml names', () => {
  it('refuses a record whose location leaves repodata/, though the file it reaches matches', async () => {
    const error = await damaged(async (repodata, repomd) => {
      const primary = await primaryOf(repodata);
      const text = await readFile(repomd, 'utf8');
      await writeFile(repomd, text.replace(`href="repodata/${primary}"`, `href="repodata/../repodata/${primary}"`));
    });
    expect(error.message).toContain('the primary record of repomd.xml names an unexpected file');
  });

  it('refuses a metadata file that is a symlink, even to the very bytes repomd.xml lists', async () => {
    const error = await damaged(async (repodata) => {
      const primary = await primaryOf(repodata);
      const kept = join(repodata, '..', 'kept-primary.xml.gz');
      await copyFile(join(repodata, primary), kept);
      await rm(join(repodata, primary));
      await symlink(kept, join(repodata, primary));
    });
    expect(error.message).toMatch(/primary \([^)]+\) is not a regular file$/);
  });
});

describe('a createrepo_c that exits 0 with an empty repomd.xml', () => {
  async function emptyingCreaterepo(): Promise<Record<string, string>> {
    // the real one, then what a full disk left it with: every argument is the directory last
    const emptying = await createrepoStandIn(() => '/usr/bin/createrepo_c "$@" || exit\nfor dir; do :; done\n: > "$dir/repodata/repomd.xml"\n', work);
    return { PATH: emptying.path };
  }

  it('rejects the batch as CREATEREPO_FAILED and leaves the published repository as it was', async () => {
    const f = await getFixtures();
    const dir = await publishedV1();
    const before = await publishedTree(dir);
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], {
      stdin: await encodeStream(await Promise.all(f.packages.extra.map((p) => fileMember(p.path)))),
      env: await emptyingCreaterepo(),
    });
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('CREATEREPO_FAILED');
    expect(run.stderr).toContain('repomd.xml is empty');
    expect((await readResult(dir))['status']).toBe('rejected');
    expect(await publishedTree(dir)).toEqual(before);
    expect(await leftovers(dir)).toEqual([]);
  });

  it('makes clean fail and leave the published repository and record as they were', async () => {
    const dir = await publishedV1();
    const before = await publishedTree(dir);
    const record = await readResult(dir);
    const run = await runReceiver(['clean', '--updates-dir', dir], { env: await emptyingCreaterepo() });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/clean failed: CREATEREPO_FAILED: createrepo_c exited 0, but the metadata it left is not whole: repomd\.xml is empty/);
    expect(await publishedTree(dir)).toEqual(before);
    expect(await readResult(dir)).toEqual(record);
    expect(await leftovers(dir)).toEqual([]);
  });
});
