import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DiskFullError, isNoSpace, StateError } from '../errors.ts';
import { sanitize } from '../text.ts';
import { withRoot, type WorkdirLayout } from './paths.ts';
import { processExists } from './process-exists.ts';
import { rewriteRepoFile } from './repo-file.ts';
import { makeWorkdirDir } from './workdir-fs.ts';

/** One file of dom0's state, as the state-sync stream delivers it (request.json is taken out before). */
export interface StateFile {
  readonly kind: 'rpmdb' | 'repo' | 'dnf-conf' | 'gpg-key';
  /** The stream's path, e.g. `yum.repos.d/fedora.repo`; only its last component is used. */
  readonly path: string;
  readonly body: AsyncIterable<Uint8Array>;
}

export interface InstalledState {
  readonly files: number;
  readonly bytes: number;
}

/** Where each kind of state file goes inside the installroot. */
const DIRS: Record<StateFile['kind'], readonly string[]> = {
  rpmdb: ['var', 'lib', 'rpm'],
  repo: ['etc', 'yum.repos.d'],
  'dnf-conf': ['etc', 'dnf'],
  'gpg-key': ['etc', 'pki', 'rpm-gpg'],
};

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$/;

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of body) parts.push(chunk);
  return Buffer.concat(parts);
}

async function writeOne(file: StateFile, tempRoot: string, finalRoot: string): Promise<number> {
  const name = basename(file.path);
  if (!SAFE_NAME.test(name)) {
    throw new StateError('STATE_PATH', `state file "${sanitize(file.path)}" has a name this agent does not write`);
  }
  const target = join(tempRoot, ...DIRS[file.kind], name);
  if (file.kind === 'repo') {
    // Key paths must name the final root, not the temporary directory being filled.
    const text = rewriteRepoFile((await collect(file.body)).toString('utf8'), finalRoot, file.path);
    await writeFile(target, text, { flag: 'wx', mode: 0o644 });
    return Buffer.byteLength(text);
  }
  let bytes = 0;
  const counted = Readable.from(
    (async function* () {
      for await (const chunk of file.body) {
        bytes += chunk.byteLength;
        yield chunk;
      }
    })(),
  );
  await pipeline(counted, createWriteStream(target, { flags: 'wx', mode: 0o644 }));
  return bytes;
}

/** Roots being built (`root.new-PID-…`) and roots being replaced (`root.old-PID-…`), by the pid of their run. */
const SWAP_NAME = /^root\.(new|old)-(\d+)-/;

/**
 * What a sync killed midway left behind: a half-built root is removed, and an old root is put
 * back when the kill came between the swap's two renames (no `root` at all), else removed.
 */
async function recoverSwap(layout: WorkdirLayout): Promise<void> {
  const names = await readdir(layout.workdir);
  const dead = names.filter((name) => {
    const pid = SWAP_NAME.exec(name)?.[2];
    return pid !== undefined && Number(pid) !== process.pid && !processExists(Number(pid));
  });
  const restore = names.includes(basename(layout.root)) ? undefined : dead.find((name) => name.startsWith('root.old-'));
  if (restore !== undefined) await rename(join(layout.workdir, restore), layout.root);
  for (const name of dead) if (name !== restore) await rm(join(layout.workdir, name), { recursive: true, force: true });
}

/** How a stop reaches a sync: the root being built goes if the agent must exit before it unwinds. */
export interface SyncStop {
  removeOnForcedExit(dir: string): () => void;
}

/**
 * Lays dom0's state out as a fresh installroot and swaps it into place, so an interrupted sync
 * never leaves a half-written root behind and no file from an older sync survives. `check` runs
 * on the new root before the swap: a root it refuses never replaces the previous one.
 */
export async function installState<T>(
  layout: WorkdirLayout,
  files: AsyncIterable<StateFile>,
  check: (candidate: WorkdirLayout) => Promise<T>,
  stop?: SyncStop,
): Promise<InstalledState & { readonly checked: T }> {
  await makeWorkdirDir(layout.workdir, layout.workdir, 0o755);
  await recoverSwap(layout);
  const temp = await mkdtemp(join(layout.workdir, `root.new-${process.pid}-`));
  const forget = stop?.removeOnForcedExit(temp);
  try {
    for (const dir of Object.values(DIRS)) await mkdir(join(temp, ...dir), { recursive: true });
    let count = 0;
    let bytes = 0;
    let haveConf = false;
    for await (const file of files) {
      bytes += await writeOne(file, temp, layout.root);
      count += 1;
      if (file.kind === 'dnf-conf') haveConf = true;
    }
    // --config must name an existing file; an empty [main] means dnf's defaults.
    if (!haveConf) await writeFile(join(temp, 'etc', 'dnf', 'dnf.conf'), '[main]\n', { mode: 0o644 });
    const checked = await check(withRoot(layout.workdir, temp));
    const old = `${layout.root}.old-${process.pid}-${Date.now()}`;
    await rename(layout.root, old).catch((error: unknown) => {
      if (!(typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT')) throw error;
    });
    await rename(temp, layout.root);
    await rm(old, { recursive: true, force: true });
    return { files: count, bytes, checked };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    if (isNoSpace(error)) throw new DiskFullError(`disk full while writing dom0's state under ${sanitize(layout.workdir)}`);
    throw error;
  } finally {
    forget?.();
  }
}
