import { execFileSync } from 'node:child_process';
import { lstat, mkdtemp, readdir, readFile, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReply } from '@dom0-updates/protocol';
import { describe, expect, it } from 'vitest';
import { encodeStream, fileMember, getFixtures, keyringArgs, leftovers, makeUpdatesDir, readResult, runReceiver, sha256 } from './helpers.ts';

async function receive(updatesDir: string, stream: Uint8Array, extra: string[] = []) {
  return runReceiver(['receive', '--updates-dir', updatesDir, ...(await keyringArgs()), ...extra], { stdin: stream });
}

describe('receive', () => {
  it('accepts real signed packages, publishes them with valid metadata and answers with one JSON line', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const stream = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    const run = await receive(dir, stream);
    expect(run.stderr).toContain('published generation');
    expect(run.code).toBe(0);

    const reply = parseReply(Buffer.from(run.stdout));
    expect(reply.status).toBe('accepted');
    expect(reply.packages.map((p) => p.nevra).sort()).toEqual(f.packages.v1.map((p) => p.nevra).sort());

    const repo = join(dir, 'repo');
    expect((await lstat(repo)).isSymbolicLink()).toBe(true);
    expect(await readlink(repo)).toMatch(/^generations\/\d{12}-[0-9a-f]{8}$/);
    for (const p of f.packages.v1) {
      const published = await readFile(join(repo, p.fileName));
      expect(sha256(published)).toBe(sha256(await readFile(p.path)));
      const st = await lstat(join(repo, p.fileName));
      expect(st.mode & 0o7777).toBe(0o644);
      expect(st.uid).toBe(process.getuid?.());
    }
    // dnf reads the published repository: every package is listed from its metadata
    const cache = await mkdtemp(join(tmpdir(), 'dnf-cache-'));
    const listed = execFileSync(
      'dnf',
      ['-q', '--disablerepo=*', `--repofrompath=published,${repo}`, '--enablerepo=published', `--setopt=cachedir=${cache}`, '--setopt=published.gpgcheck=0', 'repoquery', '--qf', '%{name}-%{version}-%{release}.%{arch}'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    expect(listed.trim().split('\n').sort()).toEqual(f.packages.v1.map((p) => p.nevra).sort());

    const record = await readResult(dir);
    expect(record['status']).toBe('published');
    expect(record['sequence']).toBeTypeOf('number');
    const accepted = record['accepted'] as { file: string; sha256: string; size: number; signer: { fingerprint: string } }[];
    expect(accepted.map((a) => a.file).sort()).toEqual(f.packages.v1.map((p) => p.fileName).sort());
    for (const a of accepted) {
      expect(a.sha256).toBe(sha256(await readFile(join(repo, a.file))));
      expect(f.trustedKeyPaths.length).toBeGreaterThan(0);
      expect(Object.values(f.keys).map((k) => k.fingerprint.toLowerCase())).toContain(a.signer.fingerprint);
    }
    expect(await leftovers(dir)).toEqual([]);
  });

  it('adds a second batch to the previous packages and keeps the previous generation for readers', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const first = await receive(dir, await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path)))));
    expect(first.code).toBe(0);
    const firstTarget = await readlink(join(dir, 'repo'));
    const firstSeq = (await readResult(dir))['sequence'] as number;
    expect((await readResult(dir))['replaces']).toBeNull();

    const second = await receive(dir, await encodeStream(await Promise.all(f.packages.v2.map((p) => fileMember(p.path)))));
    expect(second.code).toBe(0);
    const names = (await readdir(join(dir, 'repo'))).filter((n) => n.endsWith('.rpm')).sort();
    expect(names).toEqual([...f.packages.v1, ...f.packages.v2].map((p) => p.fileName).sort());
    expect((await readResult(dir))['sequence']).toBeGreaterThan(firstSeq);
    // the record names the one it overwrote, so dom0-update can tell whether others came between
    expect((await readResult(dir))['replaces']).toBe(firstSeq);
    expect(await readlink(join(dir, 'repo'))).not.toBe(firstTarget);
    // the old generation is still there, intact, for a dnf that opened it before the switch
    expect((await readdir(join(dir, firstTarget))).filter((n) => n.endsWith('.rpm')).length).toBe(f.packages.v1.length);

    // a third batch garbage-collects the first generation
    const third = await receive(dir, await encodeStream(await Promise.all(f.packages.extra.map((p) => fileMember(p.path)))));
    expect(third.code).toBe(0);
    expect((await readdir(join(dir, 'generations'))).length).toBe(2);
    await expect(lstat(join(dir, firstTarget))).rejects.toThrow();
  });

  it("keeps the previous generation's metadata names valid through the new repo link, without piling them up", async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const hrefs = async (generation: string) =>
      [...(await readFile(join(dir, generation, 'repodata', 'repomd.xml'), 'utf8')).matchAll(/<location href="(repodata\/[^"]+)"/g)].map((m) => m[1] ?? '');
    const batches = [f.packages.v1, f.packages.v2, f.packages.extra];
    const targets: string[] = [];
    for (const batch of batches) {
      expect((await receive(dir, await encodeStream(await Promise.all(batch.map((p) => fileMember(p.path)))))).code).toBe(0);
      targets.push(await readlink(join(dir, 'repo')));
    }
    const [, second = '', third = ''] = targets;
    // a dnf that read the second generation's repomd.xml just before the switch opens its files through `repo`
    const oldNames = await hrefs(second);
    expect(oldNames.length).toBeGreaterThan(0);
    for (const href of oldNames) {
      expect((await readFile(join(dir, 'repo', href))).equals(await readFile(join(dir, second, href)))).toBe(true);
    }
    // only what the previous repomd.xml names is carried: the first generation's files are gone
    const expected = new Set([...oldNames, ...(await hrefs(third)), 'repodata/repomd.xml']);
    const present = (await readdir(join(dir, third, 'repodata'))).map((n) => `repodata/${n}`);
    expect(new Set(present)).toEqual(expected);
    const listed = execFileSync(
      'dnf',
      ['-q', '--disablerepo=*', `--repofrompath=published,${join(dir, 'repo')}`, '--enablerepo=published', `--setopt=cachedir=${await mkdtemp(join(tmpdir(), 'dnf-cache-'))}`, '--setopt=published.gpgcheck=0', 'repoquery', '--qf', '%{name}-%{version}-%{release}.%{arch}'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    expect(listed.trim().split('\n').sort()).toEqual(batches.flat().map((p) => p.nevra).sort());
  });

  it('counts only the packages that are new when a batch is resent', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const v1 = await encodeStream(await Promise.all(f.packages.v1.map((p) => fileMember(p.path))));
    const first = await receive(dir, v1);
    expect(first.stderr).toContain(`(${f.packages.v1.length} new package(s))`);
    const target = await readlink(join(dir, 'repo'));

    const again = await receive(dir, v1);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`nothing new: all ${f.packages.v1.length} package(s) were already published; generation ${target.split('/').pop() ?? ''} stays published`);
    expect(await readlink(join(dir, 'repo'))).toBe(target);

    const mixed = await receive(dir, await encodeStream(await Promise.all([...f.packages.v1, ...f.packages.extra].map((p) => fileMember(p.path)))));
    expect(mixed.stderr).toContain(`(${f.packages.extra.length} new package(s), ${f.packages.v1.length} already published)`);
  });

  it('publishes an empty repository for an empty first batch', async () => {
    const dir = await makeUpdatesDir();
    const run = await receive(dir, await encodeStream([]));
    expect(run.code).toBe(0);
    expect(parseReply(Buffer.from(run.stdout)).packages).toEqual([]);
    expect(await readdir(join(dir, 'repo', 'repodata'))).toContain('repomd.xml');
  });

  it('accepts Ed25519 and RSA --rpmv3 signatures, and the published files pass rpmkeys', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const run = await receive(dir, await encodeStream(await Promise.all(f.rpmv3.map((p) => fileMember(p.path)))));
    expect(run.code).toBe(0);
    const db = await mkdtemp(join(tmpdir(), 'rpmdb-'));
    for (const key of f.trustedKeyPaths) execFileSync('rpmkeys', ['--dbpath', db, '--import', key]);
    for (const p of f.rpmv3) {
      const out = execFileSync('rpmkeys', ['--dbpath', db, '--define', '_pkgverify_level all', '--checksig', join(dir, 'repo', p.fileName)], { encoding: 'utf8' });
      expect(out.trim()).toBe(`${join(dir, 'repo', p.fileName)}: digests signatures OK`);
    }
  });

  it('runs the stage under bubblewrap with --sandbox bwrap', async () => {
    const f = await getFixtures();
    const dir = await makeUpdatesDir();
    const run = await receive(dir, await encodeStream([await fileMember(f.packages.v2[0]!.path)]), ['--sandbox', 'bwrap']);
    expect(run.code).toBe(0);
    expect(await readdir(join(dir, 'repo'))).toContain(f.packages.v2[0]!.fileName);
  });
});
