import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DEFAULT_UPDATE_LIMITS } from '@dom0-updates/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadKeyringFiles } from '../src/config/keyring-files.ts';
import { receiveMembers } from '../src/stage/receive-members.ts';
import { StagedFile } from '../src/stage/staged-file.ts';
import { encodeStream, fileMember, getFixtures, sha256 } from './helpers.ts';

describe('receiveMembers (the stage loop, in process)', () => {
  const home = process.cwd();
  afterEach(() => {
    process.chdir(home);
    vi.restoreAllMocks();
  });

  it('resolves only after the last accepted file is on disk, not while its commit still runs', async () => {
    const f = await getFixtures();
    const packages = f.packages.v1;
    expect(packages.length).toBeGreaterThanOrEqual(2);
    const stream = await encodeStream(await Promise.all(packages.map((p) => fileMember(p.path))));
    const { keyring } = await loadKeyringFiles(f.trustedKeyPaths);
    // the stage writes its files in its working directory, the staging dir
    const staging = await mkdtemp(join(tmpdir(), 'receive-members-'));
    process.chdir(staging);

    // every commit (fdatasync + close) takes a while longer than the disk needs: the last one is
    // still running when the stream ends, so only waiting for the commit queue sees it finish
    const committed: string[] = [];
    // the real method, taken before the spy replaces it
    const commit = Reflect.get(StagedFile.prototype, 'commit');
    vi.spyOn(StagedFile.prototype, 'commit').mockImplementation(async function (this: StagedFile) {
      await commit.call(this);
      await new Promise((resolve) => setTimeout(resolve, 300));
      committed.push('done');
    });

    const accepted: string[] = [];
    const count = await receiveMembers(Readable.from([stream]), DEFAULT_UPDATE_LIMITS, keyring, new Date(), async (pkg) => {
      accepted.push(pkg.file);
      await Promise.resolve();
    });

    expect(count).toBe(packages.length);
    expect(accepted).toEqual(packages.map((p) => p.path.slice(p.path.lastIndexOf('/') + 1)));
    expect(committed).toHaveLength(packages.length);
    // and what is on disk is each package, whole
    expect((await readdir(staging)).sort()).toEqual([...accepted].sort());
    for (const p of packages) {
      const name = p.path.slice(p.path.lastIndexOf('/') + 1);
      expect(sha256(await readFile(join(staging, name)))).toBe(sha256(await readFile(p.path)));
    }
  });
});
