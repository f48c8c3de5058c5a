import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeStream, fileMember, getFixtures, keyringArgs, makeUpdatesDir, readResult, replyError, runReceiver, sha256 } from './helpers.ts';

/** The stage as on a runtime that refuses worker threads (the test hook drops --allow-worker). */
const NO_WORKER = { DOM0_RECEIVER_TEST_HOOKS: '1', DOM0_RECEIVER_TEST_NO_WORKER: '1', DOM0_RECEIVER_PROFILE: '1' };
const WITH_WORKER = { DOM0_RECEIVER_PROFILE: '1' };
/** The two-lane stage on a file system without O_DIRECT (the test hook turns direct writes off): a lane writes. */
const NO_DIRECT = { DOM0_RECEIVER_TEST_HOOKS: '1', DOM0_RECEIVER_TEST_NO_DIRECT_WRITES: '1', DOM0_RECEIVER_PROFILE: '1' };
/** Neither: the thread pool writes through the page cache. */
const NEITHER = { ...NO_WORKER, DOM0_RECEIVER_TEST_NO_DIRECT_WRITES: '1' };

async function receive(stream: Uint8Array, env: Record<string, string>) {
  const dir = await makeUpdatesDir();
  const run = await runReceiver(['receive', '--updates-dir', dir, ...(await keyringArgs())], { stdin: stream, env });
  return { dir, run };
}

describe('the stage without its digest worker or without direct writes', () => {
  it('publishes the same bytes with the same record as the two-lane stage, hashing and writing on its own, with or without O_DIRECT', async () => {
    const f = await getFixtures();
    // header-only and --rpmv3 packages, RSA and Ed25519
    const packages = [...f.packages.v1, ...f.rpmv3.filter((p) => p.signer?.startsWith('trusted-') === true)];
    const names = new Set<string>();
    const members = await Promise.all(
      packages.filter((p) => !names.has(p.fileName) && names.add(p.fileName)).map((p) => fileMember(p.path)),
    );
    const stream = await encodeStream(members);
    const runs = {
      plain: await receive(stream, NO_WORKER),
      lanes: await receive(stream, WITH_WORKER),
      buffered: await receive(stream, NO_DIRECT),
      neither: await receive(stream, NEITHER),
    };
    for (const { run } of Object.values(runs)) expect(run.code).toBe(0);
    // the profile line shows worker-start= only when the worker ran, whether files were written
    // direct, and whether from page-aligned memory (Node has WebAssembly, so they always are here)
    expect(runs.plain.run.stderr).toMatch(/^dom0-receiver: profile stage (?!.*worker-start=).*total=\d+ direct-writes#1 page-aligned#1$/m);
    expect(runs.lanes.run.stderr).toMatch(/^dom0-receiver: profile stage .*worker-start=\d+.* direct-writes#1 page-aligned#1$/m);
    expect(runs.buffered.run.stderr).toMatch(/^dom0-receiver: profile stage .*worker-start=\d+.* direct-writes#0 page-aligned#0$/m);
    expect(runs.neither.run.stderr).toMatch(/^dom0-receiver: profile stage (?!.*worker-start=).*total=\d+ direct-writes#0 page-aligned#0$/m);
    const accepted = async (dir: string) => ((await readResult(dir))['accepted'] as { file: string; sha256: string; size: number }[]).sort((a, b) => a.file.localeCompare(b.file));
    const fromPlain = await accepted(runs.plain.dir);
    expect(fromPlain.length).toBe(members.length);
    for (const { dir } of Object.values(runs)) {
      expect(await accepted(dir)).toEqual(fromPlain);
      for (const a of fromPlain) expect(sha256(await readFile(join(dir, 'repo', a.file)))).toBe(a.sha256);
    }
  });

  it('rejects a changed payload byte with the same code and member as the two-lane stage', async () => {
    const f = await getFixtures();
    const p = f.packages.v1[0]!;
    const bytes = Buffer.from(await readFile(p.path));
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0x01;
    const stream = await encodeStream([{ name: p.fileName, size: bytes.length, body: [bytes] }]);
    for (const env of [NO_WORKER, WITH_WORKER, NO_DIRECT, NEITHER]) {
      const { run } = await receive(stream, env);
      expect(run.code).not.toBe(0);
      expect(replyError(run)).toMatchObject({ code: 'RPM_PAYLOAD_MISMATCH', member: p.fileName });
    }
  });
});
