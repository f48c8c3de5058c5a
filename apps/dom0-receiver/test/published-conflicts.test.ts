import { createHash } from 'node:crypto';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PackageError } from '../src/errors.ts';
import { checkAgainstPublished } from '../src/publish/published-conflicts.ts';
import type { AcceptedPackage } from '../src/publish/result-record.ts';

let dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  dirs = [];
});

const BYTES = Buffer.from('package bytes');

function accepted(file: string, name: string): AcceptedPackage {
  return {
    file,
    nevra: { name, epoch: 0, version: '1.0', release: '1', arch: 'noarch' },
    nevraString: `${name}-1.0-1.noarch`,
    sha256: createHash('sha256').update(BYTES).digest('hex'),
    size: BYTES.length,
    signer: { fingerprint: 'f'.repeat(40) },
  };
}

async function generationWith(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dom0-receiver-published-'));
  dirs.push(dir);
  await writeFile(join(dir, name), BYTES);
  return dir;
}

describe('a package checked against the published generation', () => {
  it('with the same name and bytes is a harmless resend', async () => {
    const dir = await generationWith('dom0-case-1.0-1.noarch.rpm');
    const same = await checkAgainstPublished(dir, [accepted('dom0-case-1.0-1.noarch.rpm', 'dom0-case')]);
    expect([...same]).toEqual(['dom0-case-1.0-1.noarch.rpm']);
  });

  it('is refused when its name differs from a published one only in letter case, as within one batch', async () => {
    const dir = await generationWith('dom0-case-1.0-1.noarch.rpm');
    const check = checkAgainstPublished(dir, [accepted('Dom0-Case-1.0-1.noarch.rpm', 'Dom0-Case')]);
    await expect(check).rejects.toBeInstanceOf(PackageError);
    await expect(check).rejects.toMatchObject({
      code: 'RPM_CONFLICTS_PUBLISHED',
      member: 'Dom0-Case-1.0-1.noarch.rpm',
      message: expect.stringContaining('differs only in letter case from the published dom0-case-1.0-1.noarch.rpm') as unknown,
    });
  });

  it('refuses a published name that is a symlink, even to the same bytes, as not a regular file', async () => {
    // the link's own size (its 13-character target) is the package's size, and the target holds its bytes
    const dir = await generationWith('package-bytes');
    await symlink('package-bytes', join(dir, 'dom0-link-1.0-1.noarch.rpm'));
    await expect(checkAgainstPublished(dir, [accepted('dom0-link-1.0-1.noarch.rpm', 'dom0-link')])).rejects.toMatchObject({
      code: 'RPM_CONFLICTS_PUBLISHED',
      member: 'dom0-link-1.0-1.noarch.rpm',
      message: expect.stringContaining('exists in the published repository but is not a regular file') as unknown,
    });
  });

  it('still takes an exact resend where an older generation holds two case variants', async () => {
    const dir = await generationWith('dom0-case-1.0-1.noarch.rpm');
    await writeFile(join(dir, 'Dom0-Case-1.0-1.noarch.rpm'), BYTES);
    for (const file of ['dom0-case-1.0-1.noarch.rpm', 'Dom0-Case-1.0-1.noarch.rpm']) {
      expect([...(await checkAgainstPublished(dir, [accepted(file, file.slice(0, 9))]))]).toEqual([file]);
    }
    await expect(checkAgainstPublished(dir, [accepted('DOM0-CASE-1.0-1.noarch.rpm', 'DOM0-CASE')])).rejects.toMatchObject({ code: 'RPM_CONFLICTS_PUBLISHED' });
  });
});
