// The protocol's checked-in golden vectors, seen from dom0's side: every hostile stream is refused
// by the real receiver and nothing is published. The vectors' member bodies are a few bytes, not
// packages, and dom0 verifies each member as it streams in: where a member comes before the
// hostile part, its RPM_* rejection comes first. Otherwise the code is the one the manifest pins.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyringArgs, leftovers, makeUpdatesDir, publishedTree, replyError, runReceiver } from './helpers.ts';

const VECTORS = join(import.meta.dirname, '..', '..', '..', 'packages', 'protocol', 'test', 'vectors');
const manifest = JSON.parse(readFileSync(join(VECTORS, 'manifest.json'), 'utf8')) as { hostile: Record<string, string> };

describe('the protocol golden vectors', () => {
  it('pins at least one hostile vector per class', () => {
    expect(Object.keys(manifest.hostile).length).toBeGreaterThanOrEqual(15);
  });

  it.each(Object.entries(manifest.hostile))('refuses %s with %s and publishes nothing', async (file, code) => {
    const dir = await makeUpdatesDir();
    const before = await publishedTree(dir);
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs()), '--timeout', '30'], {
      stdin: readFileSync(join(VECTORS, file)),
    });
    expect(run.code, run.stderr).toBe(1);
    const error = replyError(run);
    if (error.code.startsWith('RPM_')) {
      // an earlier member that is not a package, named as such
      expect(error.member).toMatch(/\.rpm$/);
      expect(['RPM_BAD_LEAD', 'RPM_TRUNCATED']).toContain(error.code);
    } else {
      expect(error.code).toBe(code);
    }
    expect(run.stderr).toContain(error.code);
    expect(await publishedTree(dir)).toEqual(before);
    expect(await leftovers(dir)).toEqual([]);
  });
});
