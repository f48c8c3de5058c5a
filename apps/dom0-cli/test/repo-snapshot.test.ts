import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_PREFIX, snapshotPublishedRepo } from '../src/repo-snapshot.ts';

/** An updates dir with one published generation: two packages and repodata. */
function publishedUpdatesDir(): { updatesDir: string; generation: string } {
  const updatesDir = mkdtempSync(join(tmpdir(), 'dom0-cli-snapshot-'));
  const generation = join(updatesDir, 'generations', '000000000001-0badcafe');
  mkdirSync(join(generation, 'repodata'), { recursive: true });
  writeFileSync(join(generation, 'a-1.0-1.noarch.rpm'), 'package a');
  writeFileSync(join(generation, 'b-1.0-1.noarch.rpm'), 'package b');
  writeFileSync(join(generation, 'repodata', 'repomd.xml'), '<repomd/>');
  symlinkSync(join('generations', '000000000001-0badcafe'), join(updatesDir, 'repo'));
  return { updatesDir, generation };
}

describe('the snapshot dom0\'s dnf reads', () => {
  it('holds hard links to every file of the published generation, repodata included', () => {
    const { updatesDir, generation } = publishedUpdatesDir();
    const snapshot = snapshotPublishedRepo(updatesDir);
    expect(snapshot?.dir.startsWith(join(updatesDir, SNAPSHOT_PREFIX))).toBe(true);
    const dir = snapshot?.dir ?? '';
    expect(readdirSync(dir).sort()).toEqual(['a-1.0-1.noarch.rpm', 'b-1.0-1.noarch.rpm', 'repodata']);
    for (const file of ['a-1.0-1.noarch.rpm', join('repodata', 'repomd.xml')]) {
      expect(statSync(join(dir, file)).ino).toBe(statSync(join(generation, file)).ino);
    }
    snapshot?.remove();
    expect(existsSync(dir)).toBe(false);
    // the generation itself is untouched
    expect(readFileSync(join(generation, 'a-1.0-1.noarch.rpm'), 'utf8')).toBe('package a');
  });

  it('keeps its files when the receiver prunes the generation while dnf reads them', () => {
    const { updatesDir, generation } = publishedUpdatesDir();
    const snapshot = snapshotPublishedRepo(updatesDir);
    rmSync(generation, { recursive: true });
    expect(readFileSync(join(snapshot?.dir ?? '', 'b-1.0-1.noarch.rpm'), 'utf8')).toBe('package b');
    expect(readFileSync(join(snapshot?.dir ?? '', 'repodata', 'repomd.xml'), 'utf8')).toBe('<repomd/>');
    snapshot?.remove();
  });

  it('removes snapshots a killed run left behind, and nothing else', () => {
    const { updatesDir } = publishedUpdatesDir();
    mkdirSync(join(updatesDir, `${SNAPSHOT_PREFIX}old1`));
    writeFileSync(join(updatesDir, `${SNAPSHOT_PREFIX}old1`, 'x.rpm'), '');
    writeFileSync(join(updatesDir, 'result.json'), '{}');
    const snapshot = snapshotPublishedRepo(updatesDir);
    expect(readdirSync(updatesDir).sort()).toEqual(['generations', 'repo', 'result.json', (snapshot?.dir ?? '').slice(updatesDir.length + 1)].sort());
    snapshot?.remove();
  });

  it('is none when nothing was ever published', () => {
    expect(snapshotPublishedRepo(mkdtempSync(join(tmpdir(), 'dom0-cli-snapshot-')))).toBeUndefined();
  });
});
