import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcceptedPackage } from '../src/publish/result-record.ts';
import { checkStagedFiles } from '../src/publish/staged-check.ts';
import { leftovers, makeUpdatesDir, publishedTree, readResult, receiveHeldAfterFirstMember, replyError } from './helpers.ts';

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

  it('refuses a symlink whose own size is the verified size (lstat gives the length of its target path)', async () => {
    const dir = await staging();
    await rm(join(dir, FILE));
    const target = join(work, `target-same-size-${String(count)}`);
    await writeFile(target, 'abc');
    await symlink(target, join(dir, FILE));
    // one link, and the size the stage reported: only the file type tells it apart
    await expect(checkStagedFiles(dir, [reported(FILE, Buffer.byteLength(target))])).rejects.toMatchObject({ code: 'STAGED_FILES_MISMATCH', member: FILE });
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

describe('a receive whose staging dir gains a file the stage did not report', () => {
  it('is rejected as STAGED_FILES_MISMATCH naming that file, and nothing is published', async () => {
    const dir = await makeUpdatesDir();
    // the sender pauses after the first member; meanwhile a file nobody verified appears beside it
    const held = await receiveHeldAfterFirstMember(dir);
    await writeFile(join(held.staging, 'intruder-1.0-1.noarch.rpm'), 'not verified');
    const run = await held.finish();
    expect(run.code).toBe(1);
    expect(replyError(run).code).toBe('STAGED_FILES_MISMATCH');
    expect((await readResult(dir))['rejection']).toMatchObject({ code: 'STAGED_FILES_MISMATCH', member: 'intruder-1.0-1.noarch.rpm' });
    expect(await publishedTree(dir)).toEqual({});
    expect(await leftovers(dir)).toEqual([]);
  });
});
