// A scratch machine for a whole update cycle: fixtures, a mirror reachable only from the UpdateVM
// side, a dom0 root with the old versions installed, a config for the local transport, and a way
// to run `dom0-update` in dom0's (network-less, when root) namespace.
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { buildFixtures, installedPackages, makeDom0Root, signedVariant, type Dom0Root, type FixtureSet } from '@dom0-updates/fixtures';
import { createIsolation, type Isolation } from './isolation.ts';
import { descendantsOf, processId, stopAll, type ProcessId } from './process-tree.ts';
import { AGENT_BUNDLE, CLI_BUNDLE, FIXTURES_CLI_BUNDLE, HOSTILE_AGENT_BUNDLE, RECEIVER_BUNDLE } from './paths.ts';
import { rerunScript } from './rerun.ts';
import { serveMirror, type ServedMirror } from './served-mirror.ts';

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ScenarioOptions {
  /** Packages installed in dom0 at the start (default: the 1.0 set without the extra package). */
  readonly install?: (f: FixtureSet) => string[];
  /** The repository the mirror serves (default: repos.v2). */
  readonly serve?: (f: FixtureSet) => string;
  /** Replace the real agent with a hostile sender in this mode. */
  readonly hostile?: string;
  /** Network namespaces when root (default true). */
  readonly isolate?: boolean;
  readonly extraConfig?: readonly string[];
  /** Where to make the scratch machine (default: a new temp dir). */
  readonly dir?: string;
}

export interface Scenario {
  readonly dir: string;
  readonly fixtures: FixtureSet;
  readonly mirror: ServedMirror;
  readonly dom0: Dom0Root;
  readonly isolation: Isolation;
  readonly updatesDir: string;
  readonly configFile: string;
  /** A script that runs dom0-update again on this machine once its namespaces and mirror are gone. */
  readonly rerunFile: string;
  /** The configuration that script runs: configFile without the namespaces' prefixes. */
  readonly rerunConfigFile: string;
  /** Rewrites the config: the real agent or a hostile sender, plus extra KEY=value lines. */
  configure(options: { hostile?: string | undefined; extraConfig?: readonly string[] | undefined }): Promise<void>;
  run(args: readonly string[], options?: { env?: Record<string, string>; timeoutMs?: number; onOutput?: (line: string) => void }): Promise<RunResult>;
  installed(): Promise<string[]>;
  /** A digest of the published repository as dnf would see it (through the `repo` link). */
  publishedDigest(): Promise<string>;
  close(): Promise<void>;
}

export function defaultInstall(f: FixtureSet): string[] {
  return f.packages.v1.map((p) => p.path);
}

export async function createScenario(options: ScenarioOptions = {}): Promise<Scenario> {
  const fixtures = await buildFixtures();
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'dom0-updates-e2e-')));
  await mkdir(dir, { recursive: true });
  const servedDir = (options.serve ?? ((f: FixtureSet) => f.repos.v2))(fixtures);
  const isolation = await createIsolation({ want: options.isolate ?? true });
  let dom0: Dom0Root;
  let mirror: ServedMirror;
  try {
    dom0 = await makeDom0Root(join(dir, 'dom0'), {
      install: (options.install ?? defaultInstall)(fixtures),
      keys: fixtures.trustedKeyPaths,
    });
    mirror = await serveMirror(servedDir, isolation.updatevmPrefix);
  } catch (error) {
    // Half a scenario must not outlive the failure: its namespaces go (with what runs in them).
    await isolation.close();
    throw error;
  }

  const reposDir = join(dir, 'dom0-repos.d');
  await mkdir(reposDir, { recursive: true });
  const keyUrls = dom0.keyPaths.map((p) => `file:///${relative(dom0.root, p)}`).join(' ');
  await writeFile(
    join(reposDir, 'fixtures.repo'),
    `[fixtures]\nname=Fixture updates\nbaseurl=${mirror.url}\nenabled=1\ngpgcheck=1\nmetadata_expire=0\ngpgkey=${keyUrls}\n`,
  );
  const updatesDir = join(dir, 'updates');
  await mkdir(updatesDir, { recursive: true });
  const configFile = join(dir, 'dom0-update.conf');
  const fixturesFile = join(dir, 'fixtures.json');
  // What hostile senders need beyond the fixture set, prepared here with the same keys.
  const weakVictim = fixtures.packages.v2.find((p) => p.version === '2.0' && p.signer === 'trusted-rsa');
  const weakHashPath = weakVictim ? await signedVariant(weakVictim, { key: 'trusted-rsa', digestAlgo: 'sha1' }) : undefined;
  await writeFile(fixturesFile, JSON.stringify({ ...fixtures, weakHashPath }));
  const rerunConfigFile = join(dir, 'dom0-update.rerun.conf');
  const rerunFile = join(dir, 'rerun');
  const configText = (
    agentOptions: { hostile?: string | undefined; extraConfig?: readonly string[] | undefined },
    prefixes: { updatevm: readonly string[]; dom0: readonly string[] },
  ): string => {
    const agent = agentOptions.hostile
      ? [...prefixes.updatevm, process.execPath, HOSTILE_AGENT_BUNDLE, '--mode', agentOptions.hostile, '--fixtures', fixturesFile]
      : [...prefixes.updatevm, process.execPath, AGENT_BUNDLE];
    return [
      '# written by the e2e scenario',
      'TRANSPORT=local',
      `UPDATES_DIR=${updatesDir}`,
      // dom0's own copies (etc/pki/rpm-gpg in its root), as a real dom0 pins what it ships
      ...dom0.keyPaths.map((k) => `KEYRING=${k}`),
      `DOM0_ROOT=${dom0.root}`,
      `REPOS_DIR=${reposDir}`,
      `DNF_CONF=${join(dom0.root, 'etc/dnf/dnf.conf')}`,
      `KEYS_DIR=${join(dom0.root, 'etc/pki/rpm-gpg')}`,
      `AGENT_COMMAND=${JSON.stringify(agent)}`,
      `AGENT_WORKDIR=${join(dir, 'updatevm')}`,
      `RECEIVER_COMMAND=${JSON.stringify([...prefixes.dom0, process.execPath, RECEIVER_BUNDLE])}`,
      `LOCK_FILE=${join(dir, 'dom0-update.lock')}`,
      'RELEASEVER=1',
      ...(agentOptions.extraConfig ?? []),
      '',
    ].join('\n');
  };
  const configure = async (agentOptions: { hostile?: string | undefined; extraConfig?: readonly string[] | undefined }): Promise<void> => {
    await writeFile(configFile, configText(agentOptions, { updatevm: isolation.updatevmPrefix, dom0: isolation.dom0Prefix }));
    // What a kept machine's `rerun` uses once the namespaces are gone: the same, without them.
    await writeFile(rerunConfigFile, configText(agentOptions, { updatevm: [], dom0: [] }));
    await writeFile(
      rerunFile,
      rerunScript({
        node: process.execPath,
        fixturesCli: FIXTURES_CLI_BUNDLE,
        servedDir,
        repoFile: join(reposDir, 'fixtures.repo'),
        cli: CLI_BUNDLE,
        configFile: rerunConfigFile,
        env: dom0.env,
      }),
      { mode: 0o755 },
    );
  };
  await configure(options);

  // dom0-update runs still going, so close() can stop them (with everything they started).
  const running = new Set<number>();
  let closing: Promise<void> | undefined;
  const treesOfRunning = async (): Promise<ProcessId[]> => {
    const out: ProcessId[] = [];
    for (const pid of running) {
      const top = await processId(pid);
      if (top !== undefined) out.push(top);
      out.push(...(await descendantsOf(pid)));
    }
    return out;
  };

  return {
    dir,
    fixtures,
    mirror,
    dom0,
    isolation,
    updatesDir,
    configFile,
    rerunFile,
    rerunConfigFile,
    configure,
    run: async (args, runOptions = {}) => {
      if (closing !== undefined) throw new Error('the scenario is closed: no more runs');
      const [cmd = 'node', ...rest] = [...isolation.dom0Prefix, process.execPath, CLI_BUNDLE, `--config=${configFile}`, ...args];
      const child = execa(cmd, rest, {
        // the caller's TMPDIR, as a user's dom0-update gets it (its private dirs go there)
        env: { ...dom0.env, TMPDIR: tmpdir(), ...(runOptions.env ?? {}) },
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        all: true,
        ...(runOptions.timeoutMs ? { timeout: runOptions.timeoutMs } : {}),
      });
      if (runOptions.onOutput) {
        const onOutput = runOptions.onOutput;
        let pending = '';
        child.all?.on('data', (chunk: Buffer) => {
          pending += chunk.toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) onOutput(line);
        });
      }
      if (child.pid !== undefined) running.add(child.pid);
      const result = await child.finally(() => {
        if (child.pid !== undefined) running.delete(child.pid);
      });
      return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
    },
    installed: () => installedPackages(dom0),
    publishedDigest: () => treeDigest(join(updatesDir, 'repo')),
    close: () =>
      (closing ??= (async () => {
        await stopAll(treesOfRunning);
        await mirror.close();
        await isolation.close();
      })()),
  };
}

/** sha256 over every path and file's bytes under dir (following the top link only). */
export async function treeDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  let top: string;
  try {
    top = join(dir, '..', await readlink(dir));
  } catch {
    top = dir;
  }
  try {
    await stat(top);
  } catch {
    return 'absent';
  }
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = join(d, e.name);
      hash.update(`${relative(top, p)}\0`);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) hash.update(await readFile(p));
    }
  };
  await walk(top);
  return hash.digest('hex');
}

export async function removeScenario(s: Scenario): Promise<void> {
  await s.close();
  await rm(s.dir, { recursive: true, force: true });
}

/** Runs a command in a namespace prefix; used by the isolation tests. */
export async function runIn(prefix: readonly string[], argv: readonly string[]): Promise<RunResult> {
  const [cmd = 'true', ...args] = [...prefix, ...argv];
  const r = await execa(cmd, args, { reject: false, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}
