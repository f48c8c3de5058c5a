// The protocol's checked-in golden vectors, seen from dom0's side: every hostile stream is refused
// by the real receiver and nothing is published. The vectors' member bodies are a few bytes, not
// packages, and dom0 verifies each member as it streams in: where a member comes before the
// hostile part, its RPM_* rejection comes first (pinned below, each vector by name; rejects.test.ts
// shows those classes refused after real packages). Otherwise the code is the one the manifest pins.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyringArgs, leftovers, makeUpdatesDir, publishedTree, replyError, runReceiver } from './helpers.ts';

const VECTORS = join(import.meta.dirname, '..', '..', '..', 'packages', 'protocol', 'test', 'vectors');
const manifest = JSON.parse(readFileSync(join(VECTORS, 'manifest.json'), 'utf8')) as { hostile: Record<string, string> };

/** Vectors whose first member, a few bytes and no package, is refused before the hostile part. */
const GOOD_FIRST = 'good-1.0-1.noarch.rpm';
const REFUSED_AT_A_MEMBER: Readonly<Record<string, { code: string; member: string }>> = {
  'hostile-hardlink.tar': { code: 'RPM_TRUNCATED', member: GOOD_FIRST },
  'hostile-duplicate.tar': { code: 'RPM_TRUNCATED', member: GOOD_FIRST },
  'hostile-case-duplicate.tar': { code: 'RPM_TRUNCATED', member: GOOD_FIRST },
  'hostile-missing-end.tar': { code: 'RPM_TRUNCATED', member: GOOD_FIRST },
  'hostile-one-zero-block.tar': { code: 'RPM_TRUNCATED', member: GOOD_FIRST },
  'hostile-trailing-member.tar': { code: 'RPM_TRUNCATED', member: GOOD_FIRST },
  'hostile-trailing-10241-zeros.tar': { code: 'RPM_TRUNCATED', member: GOOD_FIRST },
  // the body is cut inside the member's own few bytes: not even a lead
  'hostile-truncated-body.tar': { code: 'RPM_BAD_LEAD', member: 'x.rpm' },
};

/** What the receiver must answer for each vector: the member's RPM code where it comes first, else the manifest's. */
const expected = Object.entries(manifest.hostile).map(([file, code]) => {
  const atMember = REFUSED_AT_A_MEMBER[file];
  return { file, code: atMember?.code ?? code, why: atMember === undefined ? code : `${atMember.code} at ${atMember.member}` };
});

describe('the protocol golden vectors', () => {
  it('pins at least one hostile vector per class', () => {
    expect(Object.keys(manifest.hostile).length).toBeGreaterThanOrEqual(15);
    // every vector pinned here as refused at a member is one the manifest still has
    expect(Object.keys(REFUSED_AT_A_MEMBER).filter((file) => !(file in manifest.hostile))).toEqual([]);
  });

  it.each(expected)('refuses $file with $why and publishes nothing', async ({ file, code }) => {
    const dir = await makeUpdatesDir();
    const before = await publishedTree(dir);
    const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs()), '--timeout', '30'], {
      stdin: readFileSync(join(VECTORS, file)),
    });
    expect(run.code, run.stderr).toBe(1);
    const error = replyError(run);
    expect(error.code).toBe(code);
    const atMember = REFUSED_AT_A_MEMBER[file];
    if (atMember !== undefined) expect(error.member).toBe(atMember.member);
    expect(run.stderr).toContain(error.code);
    expect(await publishedTree(dir)).toEqual(before);
    expect(await leftovers(dir)).toEqual([]);
  });
});
