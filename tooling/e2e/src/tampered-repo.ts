// A hostile mirror's repository: a copy of the updates repository in which one package's payload
// has one byte changed and the metadata regenerated to match, as a compromised mirror would do.
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { FixturePackage, FixtureSet } from '@dom0-updates/fixtures';

export interface TamperedRepo {
  readonly dir: string;
  readonly victim: FixturePackage;
}

export async function makeTamperedRepo(fixtures: FixtureSet, into: string): Promise<TamperedRepo> {
  const victim = fixtures.packages.v2.find((p) => p.name === 'dom0-tool' && p.version === '2.0');
  if (!victim) throw new Error('the fixtures have no dom0-tool 2.0');
  await rm(into, { recursive: true, force: true });
  await cp(fixtures.repos.v2, into, { recursive: true });
  await rm(join(into, 'repodata'), { recursive: true, force: true });
  const target = join(into, victim.fileName);
  const bytes = Buffer.from(await readFile(target));
  // The last bytes belong to the compressed payload: the signed header stays intact.
  const at = bytes.length - 16;
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  await writeFile(target, bytes);
  await execa('createrepo_c', ['-q', into]);
  return { dir: into, victim };
}
