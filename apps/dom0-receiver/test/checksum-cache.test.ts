import { copyFile, mkdtemp, readdir, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring, verifyRpmFile } from '@dom0-updates/rpm-verify';
import { checksumCacheKey, writeChecksumCache, type ChecksumCacheEntry } from '../src/publish/checksum-cache.ts';
import { runCreaterepo } from '../src/publish/createrepo.ts';
import { parseStageMessage } from '../src/stage/messages.ts';
import { getFixtures } from './helpers.ts';

let work: string;
let files: { name: string; path: string }[];
let entries: ChecksumCacheEntry[];

/** A repo dir holding copies of the packages, all with the same fixed mtime. */
async function repoCopy(name: string): Promise<string> {
  const dir = join(work, name);
  await execa('mkdir', ['-p', dir]);
  for (const f of files) {
    await copyFile(f.path, join(dir, f.name));
    await utimes(join(dir, f.name), 1_700_000_000, 1_700_000_000);
  }
  return dir;
}

async function metadata(repo: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await readdir(join(repo, 'repodata'))) {
    const kind = /-(primary|filelists|other)\.xml\.gz$/.exec(name)?.[1];
    if (kind !== undefined) out[kind] = gunzipSync(await readFile(join(repo, 'repodata', name))).toString('utf8');
  }
  return out;
}

beforeAll(async () => {
  const f = await getFixtures();
  work = await mkdtemp(join(tmpdir(), 'checksum-cache-'));
  // v1 and extra carry no legacy signature, the --rpmv3 ones do: both forms of the key
  files = [...f.packages.v1, ...f.packages.extra, ...f.rpmv3].map((p) => ({ name: p.fileName, path: p.path }));
  const keyring = await loadKeyring(await Promise.all(f.trustedKeyPaths.map((p) => readFile(p, 'utf8'))));
  entries = [];
  for (const file of files) {
    const verified = await verifyRpmFile(file.path, keyring, { now: new Date() });
    const cacheKey = checksumCacheKey(verified.cacheKeyFields);
    if (cacheKey === null) throw new Error(`no cache key for ${file.name}`);
    entries.push({ file: file.name, sha256: verified.sha256, cacheKey });
  }
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('createrepo_c checksum cache', () => {
  it('derives from the verified headers the very names createrepo_c writes into its cache', async () => {
    const repo = await repoCopy('names');
    const cache = join(work, 'names-cache');
    await execa('mkdir', ['-p', cache]);
    await execa('createrepo_c', ['--quiet', '--no-database', '--cachedir', cache, repo]);
    const written = (await readdir(cache)).sort();
    const ours = await writeChecksumCache(work, repo, entries);
    expect((await readdir(ours)).sort()).toEqual(written);
    expect(written).toHaveLength(files.length);
    // and the checksum createrepo_c cached is the verifier's SHA-256
    for (const name of written) {
      const entry = entries.find((e) => name.startsWith(`${e.file}-`));
      expect(await readFile(join(cache, name), 'utf8')).toBe(entry?.sha256);
    }
  });

  it('is read by createrepo_c: a pre-filled entry replaces its own hashing', async () => {
    const repo = await repoCopy('hit');
    const bogus = 'f'.repeat(64);
    const cache = await writeChecksumCache(work, repo, entries.map((e) => ({ ...e, sha256: bogus })));
    await execa('createrepo_c', ['--quiet', '--no-database', '--cachedir', cache, repo]);
    const primary = (await metadata(repo))['primary'] ?? '';
    // every package's checksum came from the cache, none was hashed (a probe, never published)
    expect(primary.match(/<checksum type="sha256" pkgid="YES">f{64}<\/checksum>/g)).toHaveLength(files.length);
  });

  it('publishes byte-for-byte the same primary, filelists and other with and without the pre-filled cache', async () => {
    const plain = await repoCopy('plain');
    const cached = await repoCopy('cached');
    const scratch = await mkdtemp(join(work, 'scratch-'));
    const plainRun = await runCreaterepo(plain, scratch);
    const cachedRun = await runCreaterepo(cached, scratch, { checksums: entries });
    expect(cachedRun.packagesRead).toBe(plainRun.packagesRead);
    const a = await metadata(plain);
    const b = await metadata(cached);
    expect(Object.keys(a).sort()).toEqual(['filelists', 'other', 'primary']);
    expect(b).toEqual(a);
    for (const e of entries) expect(a['primary']).toContain(`pkgid="YES">${e.sha256}</checksum>`);
    // the private cache dir is gone after the run
    expect(await readdir(scratch)).toEqual([]);
  });

  it('removes its half-written cache when an entry cannot be written, leaving the scratch dir as it was', async () => {
    const repo = await repoCopy('half');
    const scratch = await mkdtemp(join(work, 'scratch-'));
    const [first] = entries;
    if (first === undefined) throw new Error('no entries');
    // the second entry's package is not in the generation: its lstat fails after the first was written
    await expect(writeChecksumCache(scratch, repo, [first, { ...first, file: 'gone-1-1.noarch.rpm' }])).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(scratch)).toEqual([]);
  });

  it('takes a cache key from the stage only as 64 hex digits and a count', () => {
    const pkg = {
      file: 'a-1-1.noarch.rpm',
      nevra: { name: 'a', epoch: 0, version: '1', release: '1', arch: 'noarch' },
      nevraString: 'a-1-1.noarch',
      sha256: 'a'.repeat(64),
      size: 1,
      signer: { fingerprint: 'b'.repeat(40) },
    };
    const key = { key: 'c'.repeat(64), installedSize: 17 };
    expect(parseStageMessage({ kind: 'accepted', package: pkg, cacheKey: key })).toEqual({ kind: 'accepted', package: pkg, cacheKey: key });
    expect(parseStageMessage({ kind: 'accepted', package: pkg, cacheKey: null })).toEqual({ kind: 'accepted', package: pkg, cacheKey: null });
    for (const bad of [{ key: '../x', installedSize: 1 }, { key: 'c'.repeat(64), installedSize: -1 }, { key: 'c'.repeat(64), installedSize: 1, extra: 1 }, 'x']) {
      expect(() => parseStageMessage({ kind: 'accepted', package: pkg, cacheKey: bad })).toThrow(/cacheKey/);
    }
  });
});
