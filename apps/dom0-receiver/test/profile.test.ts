import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeStream, fileMember, getFixtures, keyringArgs, makeUpdatesDir, runReceiver, sha256 } from './helpers.ts';

/** The `createrepo-read#N` count from the receiver's profile line. */
function packagesRead(stderr: string): number {
  const match = /^dom0-receiver: profile receiver .*createrepo-read#(\d+)/m.exec(stderr);
  if (match?.[1] === undefined) throw new Error(`no profile line in: ${stderr}`);
  return Number(match[1]);
}

/** location href -> pkgid (sha256) from the published primary.xml. */
async function primaryChecksums(dir: string): Promise<Map<string, string>> {
  const repo = join(dir, 'repo');
  const repomd = await readFile(join(repo, 'repodata', 'repomd.xml'), 'utf8');
  const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)?.[1] ?? '';
  const primary = gunzipSync(await readFile(join(repo, href))).toString('utf8');
  const out = new Map<string, string>();
  for (const pkg of primary.split('<package ').slice(1)) {
    const sum = /<checksum type="sha256" pkgid="YES">([0-9a-f]{64})<\/checksum>/.exec(pkg)?.[1];
    const loc = /<location href="([^"]+)"/.exec(pkg)?.[1];
    if (sum !== undefined && loc !== undefined) out.set(loc, sum);
  }
  return out;
}

describe('DOM0_RECEIVER_PROFILE', () => {
  it('prints phase timings of the receiver and of the stage only when asked', async () => {
    const f = await getFixtures();
    const stream = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    const args = async (): Promise<string[]> => ['receive', '--updates-dir', await makeUpdatesDir(), ...(await keyringArgs())];

    const profiled = await runReceiver(await args(), { stdin: stream, env: { DOM0_RECEIVER_PROFILE: '1' } });
    expect(profiled.code).toBe(0);
    expect(profiled.stderr).toMatch(/^dom0-receiver: profile stage keyring=\d+ read=\d+ verify=\d+ .*total=\d+ direct-writes#[01] page-aligned#[01]$/m);
    expect(profiled.stderr).toMatch(/^dom0-receiver: profile receiver stage=\d+ reap=\d+ staged-check=\d+ generation=\d+ createrepo=\d+ .*swap=\d+ .*total=\d+ createrepo-read#\d+$/m);

    const plain = await runReceiver(await args(), { stdin: stream });
    expect(plain.code).toBe(0);
    expect(plain.stderr).not.toContain('profile');
  });
});

describe('metadata of the previous generation', () => {
  it('is reused for the packages carried over: createrepo_c reads only the new ones, and every checksum is right', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const args = ['receive', '--updates-dir', dir, ...(await keyringArgs())];
    const env = { DOM0_RECEIVER_PROFILE: '1' };
    const first = await runReceiver(args, { stdin: await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path)))), env });
    expect(first.code).toBe(0);
    expect(packagesRead(first.stderr)).toBe(f.packages.v1.length);

    const second = await runReceiver(args, { stdin: await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path)))), env });
    expect(second.code).toBe(0);
    expect(packagesRead(second.stderr)).toBe(f.packages.v2.length);

    const all = [...f.packages.v1, ...f.packages.v2];
    const expected = new Map(await Promise.all(all.map(async (p) => [p.fileName, sha256(await readFile(p.path))] as const)));
    expect(await primaryChecksums(dir)).toEqual(expected);
  });
});
