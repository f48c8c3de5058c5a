import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeStream, fileMember, getFixtures, keyringArgs, makeUpdatesDir, readResult, replyError, runReceiver, sha256 } from './helpers.ts';

/** The stage as on a runtime that refuses worker threads (the test hook drops --allow-worker). */
const NO_WORKER = { DOM0_RECEIVER_TEST_HOOKS: '1', DOM0_RECEIVER_TEST_NO_WORKER: '1', DOM0_RECEIVER_PROFILE: '1' };
const WITH_WORKER = { DOM0_RECEIVER_PROFILE: '1' };

async function receive(stream: Uint8Array, env: Record<string, string>) {
  const dir = await makeUpdatesDir();
  const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: stream, env });
  return { dir, run };
}

describe('the stage without its digest worker', () => {
  it('publishes the same bytes with the same record as the two-lane stage, hashing and writing on its own', async () => {
    const f = await getFixtures();
    // header-only and --rpmv3 packages, RSA and Ed25519
    const packages = [...f.packages.v1, ...f.rpmv3.filter((p) => p.signer?.startsWith('trusted-') === true)];
    const names = new Set<string>();
    const members = await Promise.all(
      packages.filter((p) => !names.has(p.fileName) && names.add(p.fileName)).map((p) => fileMember(p.path)),
    );
    const stream = await encodeStream(members);
    const plain = await receive(stream, NO_WORKER);
    const lanes = await receive(stream, WITH_WORKER);
    expect(plain.run.code).toBe(0);
    expect(lanes.run.code).toBe(0);
    // the profile line shows worker-start= only when the worker ran
    expect(plain.run.stderr).toMatch(/^dom0-receiver: profile stage (?!.*worker-start=).*total=\d+$/m);
    expect(lanes.run.stderr).toMatch(/^dom0-receiver: profile stage .*worker-start=\d+/m);
    const accepted = async (dir: string) => ((await readResult(dir))['accepted'] as { file: string; sha256: string; size: number }[]).sort((a, b) => a.file.localeCompare(b.file));
    const fromPlain = await accepted(plain.dir);
    expect(fromPlain).toEqual(await accepted(lanes.dir));
    expect(fromPlain.length).toBe(members.length);
    for (const a of fromPlain) expect(sha256(await readFile(join(plain.dir, 'repo', a.file)))).toBe(a.sha256);
  });

  it('rejects a changed payload byte with the same code and member as the two-lane stage', async () => {
    const f = await getFixtures();
    const p = f.packages.v1[0]!;
    const bytes = Buffer.from(await readFile(p.path));
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0x01;
    const stream = await encodeStream([{ name: p.fileName, size: bytes.length, body: [bytes] }]);
    for (const env of [NO_WORKER, WITH_WORKER]) {
      const { run } = await receive(stream, env);
      expect(run.code).not.toBe(0);
      expect(replyError(run)).toMatchObject({ code: 'RPM_PAYLOAD_MISMATCH', member: p.fileName });
    }
  });
});
