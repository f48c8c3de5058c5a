import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { classifyStatePath } from '@dom0-updates/protocol';
import { buildFixtures, makeDom0Root, startMirror, type Dom0Root, type FixtureSet, type Mirror } from '@dom0-updates/fixtures';
import { installState, type StateFile } from '../../src/installroot/layout.ts';
import { workdirLayout } from '../../src/installroot/paths.ts';
import { ensureRpmdbReadable, writeRpmMacros } from '../../src/installroot/rpmdb.ts';

export const PKG_DIR = join(import.meta.dirname, '..', '..');
export const BUNDLE = join(PKG_DIR, 'dist', 'updatevm-agent.mjs');
export const CAPTURE_RECEIVER = join(import.meta.dirname, 'capture-receiver.mjs');

export interface World {
  readonly dir: string;
  readonly fixtures: FixtureSet;
  readonly mirror: Mirror;
  readonly dom0: Dom0Root;
  close(): Promise<void>;
}

/** dom0's repository definition for a mirror, naming its keys where dom0 keeps them. */
export function repoFile(dom0: Dom0Root, url: string): string {
  const keys = dom0.keyPaths.map((p) => `file:///etc/pki/rpm-gpg/${p.split('/').pop() ?? ''}`).join(' ');
  return `[fixture]\nname=Fixture updates\nbaseurl=${url}\nenabled=1\ngpgcheck=1\nmetadata_expire=0\ngpgkey=${keys}\n`;
}

/** dom0 with the 1.0 packages installed and a repository file naming the loopback mirror (serving v2). */
export async function makeWorld(): Promise<World> {
  const fixtures = await buildFixtures();
  const dir = await mkdtemp(join(tmpdir(), 'uvm-agent-'));
  const mirror = await startMirror(fixtures.repos.v2);
  const dom0 = await makeDom0Root(join(dir, 'dom0'), {
    install: fixtures.packages.v1.map((p) => p.path),
    keys: fixtures.trustedKeyPaths,
  });
  await writeFile(join(dom0.root, 'etc', 'yum.repos.d', 'fixture.repo'), repoFile(dom0, mirror.url));
  return {
    dir,
    fixtures,
    mirror,
    dom0,
    async close() {
      await mirror.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield await Promise.resolve(bytes);
}

async function* bytesOf(path: string): AsyncGenerator<Uint8Array> {
  yield await readFile(path);
}

/** dom0's state as the state-sync stream would carry it, read straight from the dom0 root. */
export async function* dom0StateFiles(dom0: Dom0Root, repoUrl?: string): AsyncGenerator<StateFile> {
  const from = async (kind: StateFile['kind'], sub: string, prefix: string, filter: (n: string) => boolean) => {
    // Only what the protocol's path allow-list lets dom0 send (no `.rpm.lock`, for one).
    const names = (await readdir(join(dom0.root, sub)))
      .filter((n) => filter(n) && !('problem' in classifyStatePath(`${prefix}/${n}`)))
      .sort();
    return names.map((n) => ({ kind, path: `${prefix}/${n}`, body: bytesOf(join(dom0.root, sub, n)) }));
  };
  yield* await from('rpmdb', 'var/lib/rpm', 'rpmdb', () => true);
  if (repoUrl === undefined) yield* await from('repo', 'etc/yum.repos.d', 'yum.repos.d', (n) => n.endsWith('.repo'));
  else yield { kind: 'repo', path: 'yum.repos.d/fixture.repo', body: once(Buffer.from(repoFile(dom0, repoUrl))) };
  yield* await from('dnf-conf', 'etc/dnf', 'dnf', (n) => n === 'dnf.conf');
  yield* await from('gpg-key', 'etc/pki/rpm-gpg', 'rpm-gpg', (n) => n.startsWith('RPM-GPG-KEY-'));
}

/** A workdir laid out from dom0's state, as `sync-state` leaves it. */
export async function syncedWorkdir(world: World, name: string, repoUrl?: string): Promise<string> {
  const workdir = join(world.dir, name);
  const layout = workdirLayout(workdir);
  await writeRpmMacros(layout);
  await installState(layout, dom0StateFiles(world.dom0, repoUrl), ensureRpmdbReadable);
  return workdir;
}

export interface AgentRun {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built bundle as a real process. */
export async function agent(args: readonly string[], options: { env?: Record<string, string>; input?: Buffer } = {}): Promise<AgentRun> {
  const result = await execa(process.execPath, [BUNDLE, ...args], {
    reject: false,
    env: options.env ?? {},
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}
