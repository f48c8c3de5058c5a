import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtures, type FixtureSet } from '@dom0-updates/fixtures';
import { archive, member } from '../tar/header.ts';
import { judgeRejection, type Judgement } from './judge.ts';
import type { StreamSource } from './process.ts';
import { assertBundleBuilt, parseVerifyOutput, receive, verifyFiles, type VerifyLine } from './receiver.ts';
import { captureRepoState, leftovers, type RepoState } from './repo-state.ts';

export interface CaseOptions {
  flags?: readonly string[];
  /** Keyrings for this run; the two trusted fixture keys by default. */
  keyrings?: readonly string[];
  timeout?: number;
  guardMs?: number;
  env?: Record<string, string>;
}

export interface CaseReport extends Judgement {
  stderr: string;
}

/**
 * One test file's world: fixtures, a scratch dir, and `slots` updates dirs that each already hold
 * a published baseline (the v1 packages), so every case can prove the repository did not move.
 */
export interface Corpus {
  fx: FixtureSet;
  scratch: string;
  trustedKeyrings: string[];
  /** Sends `stream` to a real receiver and judges it as a rejection with one of `expected`. */
  reject(stream: StreamSource, expected: readonly string[], options?: CaseOptions): Promise<CaseReport>;
  /** A fresh updates dir with the baseline published, for runs that are meant to succeed. */
  freshUpdatesDir(): Promise<string>;
  /** Writes bytes into the scratch dir under a unique subdir, keeping `fileName`. */
  writeScratch(fileName: string, bytes: Uint8Array): Promise<string>;
  /** `verify` over many files in one process; the verdict per path. */
  verifyAll(files: readonly string[], keyrings?: readonly string[]): Promise<Map<string, VerifyLine>>;
  close(): Promise<void>;
}

class SlotPool {
  private readonly free: string[];
  private readonly waiters: ((slot: string) => void)[] = [];
  constructor(slots: string[]) {
    this.free = [...slots];
  }
  async acquire(): Promise<string> {
    const slot = this.free.pop();
    if (slot !== undefined) return slot;
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(slot: string): void {
    const next = this.waiters.shift();
    if (next === undefined) this.free.push(slot);
    else next(slot);
  }
}

function statesEqual(a: RepoState, b: RepoState): string[] {
  const problems: string[] = [];
  if (a.repoLink !== b.repoLink) problems.push(`repo now points to ${b.repoLink} (was ${a.repoLink})`);
  if (JSON.stringify(a.generations) !== JSON.stringify(b.generations)) {
    problems.push(`generations changed: ${a.generations.join(',')} -> ${b.generations.join(',')}`);
  }
  for (const key of new Set([...Object.keys(a.tree), ...Object.keys(b.tree)])) {
    if (a.tree[key] !== b.tree[key]) problems.push(`published ${key}: ${a.tree[key] ?? 'absent'} -> ${b.tree[key] ?? 'absent'}`);
  }
  return problems;
}

async function publishBaseline(fx: FixtureSet, dir: string): Promise<void> {
  const members = await Promise.all(
    fx.packages.v1.map(async (p) => member(p.fileName, new Uint8Array(await readFile(p.path)))),
  );
  const result = await receive({ updatesDir: dir, keyrings: fx.trustedKeyPaths, stdin: archive(members) });
  if (result.exitCode !== 0) {
    throw new Error(`baseline publish failed: ${new TextDecoder().decode(result.stdout)} ${new TextDecoder().decode(result.stderr)}`);
  }
}

export async function openCorpus(label: string, slots = 2): Promise<Corpus> {
  assertBundleBuilt();
  const fx = await buildFixtures();
  const root = await mkdtemp(join(tmpdir(), `hostile-${label}-`));
  const scratch = join(root, 'scratch');
  await mkdir(scratch);
  const baseline = join(root, 'baseline');
  await publishBaseline(fx, baseline);
  let copies = 0;
  const copyBaseline = async (): Promise<string> => {
    copies += 1;
    const dir = join(root, `updates-${copies}`);
    await cp(baseline, dir, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    return dir;
  };
  const slotDirs: string[] = [];
  for (let i = 0; i < slots; i += 1) slotDirs.push(await copyBaseline());
  const pool = new SlotPool(slotDirs);
  let scratchCount = 0;

  return {
    fx,
    scratch,
    trustedKeyrings: [...fx.trustedKeyPaths],
    async reject(stream, expected, options = {}) {
      const dir = await pool.acquire();
      try {
        const before = await captureRepoState(dir);
        const result = await receive({
          updatesDir: dir,
          keyrings: options.keyrings ?? fx.trustedKeyPaths,
          stdin: stream,
          ...(options.flags === undefined ? {} : { flags: options.flags }),
          ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
          ...(options.guardMs === undefined ? {} : { guardMs: options.guardMs }),
          ...(options.env === undefined ? {} : { env: options.env }),
        });
        const judgement = judgeRejection(result, expected);
        const after = await captureRepoState(dir);
        judgement.problems.push(...statesEqual(before, after));
        const left = await leftovers(dir);
        if (left.length > 0) judgement.problems.push(`left behind: ${left.join(', ')}`);
        // Refusals before the lock (keyring, usage) write no record by design.
        if (judgement.code !== undefined && !judgement.code.startsWith('KEYRING_')) {
          const record = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as {
            status?: string;
            rejection?: { code?: string };
          };
          if (record.status !== 'rejected' || record.rejection?.code !== judgement.code) {
            judgement.problems.push(`result.json does not record the rejection ${judgement.code}`);
          }
        }
        return { ...judgement, stderr: new TextDecoder().decode(result.stderr) };
      } finally {
        pool.release(dir);
      }
    },
    freshUpdatesDir: copyBaseline,
    async writeScratch(fileName, bytes) {
      scratchCount += 1;
      const dir = join(scratch, String(scratchCount));
      await mkdir(dir);
      const path = join(dir, fileName);
      await writeFile(path, bytes);
      return path;
    },
    async verifyAll(files, keyrings) {
      const result = await verifyFiles(keyrings ?? fx.trustedKeyPaths, files);
      return parseVerifyOutput(result.stdout);
    },
    async close() {
      await rm(root, { recursive: true, force: true });
    },
  };
}
