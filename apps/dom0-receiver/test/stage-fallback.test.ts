import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPackage } from '@dom0-updates/fixtures';
import { describe, expect, it } from 'vitest';
import { encodeStream, fileMember, getFixtures, keyringArgs, makeUpdatesDir, readResult, replyError, runReceiver, sha256 } from './helpers.ts';

/** The stage as on a runtime that refuses worker threads (the test hook drops --allow-worker). */
const NO_WORKER = { DOM0_RECEIVER_TEST_HOOKS: '1', DOM0_RECEIVER_TEST_NO_WORKER: '1', DOM0_RECEIVER_PROFILE: '1' };
/** The two-lane stage from the first member (the test hook: by itself a batch this small is hashed on the stage's thread). */
const WITH_WORKER = { DOM0_RECEIVER_TEST_HOOKS: '1', DOM0_RECEIVER_TEST_LANES_FIRST: '1', DOM0_RECEIVER_PROFILE: '1' };
/** The two-lane stage on a file system without O_DIRECT (the test hook turns direct writes off): a lane writes. */
const NO_DIRECT = { ...WITH_WORKER, DOM0_RECEIVER_TEST_NO_DIRECT_WRITES: '1' };
/** As dom0 runs it: the lanes start once the batch is large enough. */
const AS_SHIPPED = { DOM0_RECEIVER_PROFILE: '1' };
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
    for (const env of [NO_WORKER, WITH_WORKER, NO_DIRECT, NEITHER, AS_SHIPPED]) {
      const { run } = await receive(stream, env);
      expect(run.code).not.toBe(0);
      expect(replyError(run)).toMatchObject({ code: 'RPM_PAYLOAD_MISMATCH', member: p.fileName });
    }
  });

  it('hashes a batch of small packages on its own thread and starts the lanes before the member that takes the batch to 8 MiB', async () => {
    const f = await getFixtures();
    const small = await Promise.all(f.packages.v1.map((p) => fileMember(p.path)));
    // a random payload does not compress: the package alone is over 8 MiB
    const big = await buildPackage({ name: 'lanes-big', version: '1.0', payloadBytes: 9 * 1024 * 1024 }, { key: 'trusted-rsa' });
    const bigBytes = await readFile(big.path);
    expect(bigBytes.length).toBeGreaterThan(8 * 1024 * 1024);
    const smallRun = await receive(await encodeStream(small), AS_SHIPPED);
    expect(smallRun.run.code).toBe(0);
    expect(smallRun.run.stderr).toMatch(/^dom0-receiver: profile stage (?!.*worker-start=).*total=\d+ /m);
    // with O_DIRECT, and without (the small members written by the thread pool, the large one by a lane)
    for (const env of [AS_SHIPPED, { ...AS_SHIPPED, DOM0_RECEIVER_TEST_HOOKS: '1', DOM0_RECEIVER_TEST_NO_DIRECT_WRITES: '1' }]) {
      const bigRun = await receive(await encodeStream([...small, await fileMember(big.path)]), env);
      expect(bigRun.run.code).toBe(0);
      expect(bigRun.run.stderr).toMatch(/^dom0-receiver: profile stage .*worker-start=\d+/m);
      const accepted = (await readResult(bigRun.dir))['accepted'] as { file: string; sha256: string }[];
      expect(accepted.map((a) => a.file).sort()).toEqual([...small.map((m) => m.name), big.fileName].sort());
      for (const a of accepted) expect(sha256(await readFile(join(bigRun.dir, 'repo', a.file)))).toBe(a.sha256);
      expect(accepted.find((a) => a.file === big.fileName)?.sha256).toBe(sha256(bigBytes));
    }

    // the same large package with one payload byte changed is refused by the lanes' digest
    const bad = Buffer.from(bigBytes);
    bad[bad.length - 5] = (bad[bad.length - 5] ?? 0) ^ 0x40;
    const badRun = await receive(await encodeStream([...small, { name: big.fileName, size: bad.length, body: [bad] }]), AS_SHIPPED);
    expect(badRun.run.code).not.toBe(0);
    expect(replyError(badRun.run)).toMatchObject({ code: 'RPM_PAYLOAD_MISMATCH', member: big.fileName });
  });
});
