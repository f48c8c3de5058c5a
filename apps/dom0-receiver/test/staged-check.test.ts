import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcceptedPackage } from '../src/publish/result-record.ts';
import { checkStagedFiles } from '../src/publish/staged-check.ts';

const FILE = 'a-1-1.noarch.rpm';

/** Only `file` and `size` are read by the check; the rest is filled in to keep the type honest. */
function reported(file: string, size: number): AcceptedPackage {
  return {
    file,
    nevra: { name: 'a', epoch: 0, version: '1', release: '1', arch: 'noarch' },
    nevraString: 'a-0:1-1.noarch',
    sha256: '0'.repeat(64),
    size,
    signer: { fingerprint: '0'.repeat(40) },
  };
}

let work: string;
let count = 0;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'staged-check-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A fresh staging dir holding FILE with three bytes. */
async function staging(): Promise<string> {
  count += 1;
  const dir = join(work, `staging-${String(count)}`);
  await mkdir(dir);
  await writeFile(join(dir, FILE), 'abc');
  return dir;
}

describe('checkStagedFiles: the staging dir holds exactly what the stage reported', () => {
  it('passes a staging dir holding the reported file with its size', async () => {
    await expect(checkStagedFiles(await staging(), [reported(FILE, 3)])).resolves.toBeUndefined();
  });

  it('refuses a staged file with a second hard link (whoever holds the link could change it after the check)', async () => {
    const dir = await staging();
    await link(join(dir, FILE), join(work, `kept-${String(count)}`));
    await expect(checkStagedFiles(dir, [reported(FILE, 3)])).rejects.toMatchObject({ code: 'STAGED_FILES_MISMATCH', member: FILE });
  });

  it('refuses a staged file whose size is not the verified one', async () => {
    await expect(checkStagedFiles(await staging(), [reported(FILE, 4)])).rejects.toMatchObject({ code: 'STAGED_FILES_MISMATCH', member: FILE });
  });

  it('refuses a symlink in place of the staged file', async () => {
    const dir = await staging();
    await rm(join(dir, FILE));
    await writeFile(join(work, `target-${String(count)}`), 'abc');
    await symlink(join(work, `target-${String(count)}`), join(dir, FILE));
    await expect(checkStagedFiles(dir, [reported(FILE, 3)])).rejects.toMatchObject({ code: 'STAGED_FILES_MISMATCH', member: FILE });
  });

  it('refuses a file the stage did not report', async () => {
    const dir = await staging();
    await writeFile(join(dir, 'b-1-1.noarch.rpm'), 'x');
    await expect(checkStagedFiles(dir, [reported(FILE, 3)])).rejects.toMatchObject({ code: 'STAGED_FILES_MISMATCH', member: 'b-1-1.noarch.rpm' });
  });

  it('refuses a reported file that is missing, and a file reported twice', async () => {
    const dir = await staging();
    await expect(checkStagedFiles(dir, [reported(FILE, 3), reported('b-1-1.noarch.rpm', 1)])).rejects.toMatchObject({ code: 'STAGED_FILES_MISMATCH', message: expect.stringContaining('missing') as string });
    await expect(checkStagedFiles(dir, [reported(FILE, 3), reported(FILE, 3)])).rejects.toMatchObject({ code: 'STAGED_FILES_MISMATCH', message: expect.stringContaining('twice') as string });
  });
});
