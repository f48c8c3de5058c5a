/**
 * A scratch "machine" for end-to-end runs of the real bundles: fixtures, a loopback mirror,
 * a dom0 root, a config file for the local transport, and a way to run dom0-update.
 */
import { copyFileSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { buildFixtures, makeDom0Root, startMirror, type Dom0Root, type FixtureSet, type Mirror } from '@dom0-updates/fixtures';
import { execa } from 'execa';
import { BUNDLES } from './support/build-bundles.ts';

const { cli: CLI, agent: AGENT, receiver: RECEIVER } = BUNDLES;

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A dom0-update still running. */
export interface Started {
  readonly pid: number;
  /** What it printed on stdout so far. */
  stdoutSoFar(): string;
  /** What it printed on stderr so far. */
  stderrSoFar(): string;
  /** Writes to its stdin (a prompt's answer) and closes it. */
  answer(text: string): void;
  readonly exited: Promise<RunResult>;
}

export interface Scenario {
  readonly dir: string;
  readonly fixtures: FixtureSet;
  readonly mirror: Mirror;
  readonly dom0: Dom0Root;
  readonly configFile: string;
  readonly updatesDir: string;
  readonly lockFile: string;
  run(args: readonly string[], env?: Record<string, string>): Promise<RunResult>;
  /** Runs dom0-update with stdout a pipe whose reader is gone from the start (`dom0-update | true`). */
  runReaderGone(args: readonly string[]): Promise<RunResult>;
  /** Starts dom0-update without waiting, stdin a pipe the test holds open (a silent terminal). */
  start(args: readonly string[], env?: Record<string, string>): Started;
  close(): Promise<void>;
}

export async function makeScenario(options: {
  readonly install: (f: FixtureSet) => string[];
  readonly serve: (f: FixtureSet) => string;
  readonly extraConfig?: string;
  /** gpgcheck in the UpdateVM's repo definition; off lets bad packages reach dom0's receiver. */
  readonly updateVmGpgcheck?: boolean;
}): Promise<Scenario> {
  const fixtures = await buildFixtures();
  const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-e2e-'));
  const dom0 = await makeDom0Root(dir, { install: options.install(fixtures), keys: fixtures.trustedKeyPaths });
  const mirror = await startMirror(options.serve(fixtures));
  const reposDir = join(dir, 'repos.d');
  mkdirSync(reposDir);
  const keyUrls = dom0.keyPaths.map((p) => `file://${p.slice(dom0.root.length)}`).join(' ');
  writeFileSync(
    join(reposDir, 'fixtures.repo'),
    `[fixtures]\nname=fixtures\nbaseurl=${mirror.url}\nenabled=1\ngpgcheck=${options.updateVmGpgcheck === false ? 0 : 1}\n` +
      `metadata_expire=0\ngpgkey=${keyUrls}\n` +
      // The same mirror again, disabled unless --enablerepo=other asks for it.
      `\n[other]\nname=other\nbaseurl=${mirror.url}\nenabled=0\ngpgcheck=1\nmetadata_expire=0\ngpgkey=${keyUrls}\n`,
  );
  const updatesDir = join(dir, 'updates');
  mkdirSync(updatesDir);
  const lockFile = join(dir, 'run', 'dom0-update.lock');
  const configFile = join(dir, 'config');
  writeFileSync(
    configFile,
    [
      'TRANSPORT=local',
      `UPDATES_DIR=${updatesDir}`,
      ...fixtures.trustedKeyPaths.map((k) => `KEYRING=${k}`),
      `DOM0_ROOT=${dom0.root}`,
      `REPOS_DIR=${reposDir}`,
      `DNF_CONF=${join(dom0.root, 'etc/dnf/dnf.conf')}`,
      `KEYS_DIR=${join(dom0.root, 'etc/pki/rpm-gpg')}`,
      `AGENT_COMMAND=${JSON.stringify(['node', AGENT])}`,
      `AGENT_WORKDIR=${join(dir, 'agent')}`,
      `RECEIVER_COMMAND=${JSON.stringify(['node', RECEIVER])}`,
      `LOCK_FILE=${lockFile}`,
      'RELEASEVER=1',
      'TIMEOUT=300',
      options.extraConfig ?? '',
      '',
    ].join('\n'),
  );
  return {
    dir,
    fixtures,
    mirror,
    dom0,
    configFile,
    updatesDir,
    lockFile,
    run: async (args, env = {}) => {
      const result = await execa('node', [CLI, `--config=${configFile}`, ...args], {
        env: { ...dom0.env, ...env },
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      });
      return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
    },
    runReaderGone: async (args) => {
      const child = execa('node', [CLI, `--config=${configFile}`, ...args], {
        env: dom0.env,
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        buffer: { stdout: false },
      });
      child.stdout.destroy();
      const result = await child;
      return { exitCode: result.exitCode ?? -1, stdout: '', stderr: result.stderr };
    },
    start: (args, env = {}) => {
      const child = execa('node', [CLI, `--config=${configFile}`, ...args], {
        env: { ...dom0.env, ...env },
        extendEnv: false,
        reject: false,
        stdin: 'pipe',
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      const exited = child.then((r) => ({ exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr }));
      return { pid: child.pid ?? -1, stdoutSoFar: () => stdout, stderrSoFar: () => stderr, answer: (text) => child.stdin.end(text), exited };
    },
    close: async () => {
      await mirror.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A repository made of the given package files (copied), for serving variants from the mirror. */
export async function makeRepo(files: readonly string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-cli-repo-'));
  for (const file of files) copyFileSync(file, join(dir, basename(file)));
  await execa('createrepo_c', ['-q', dir]);
  return dir;
}

/** The parsed --json-progress lines of a run. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
