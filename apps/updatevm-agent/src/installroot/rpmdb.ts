import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stopOptions, stoppedWithRun, trackChild, type ChildStop } from '../cli/child-stop.ts';
import { StateError } from '../errors.ts';
import { sanitizeLines } from '../text.ts';
import { RPMDB_PATH, type WorkdirLayout } from './paths.ts';
import { makeWorkdirDir } from './workdir-fs.ts';

/**
 * Debian's rpm keeps its database at ~/.rpmdb; dnf has no dbpath option and takes rpm's macro,
 * so the HOME given to rpm and dnf pins it to the installroot's /var/lib/rpm.
 */
export async function writeRpmMacros(layout: WorkdirLayout): Promise<void> {
  await makeWorkdirDir(layout.workdir, layout.home, 0o700);
  await writeFile(join(layout.home, '.rpmmacros'), `%_dbpath ${RPMDB_PATH}\n`, { mode: 0o644 });
}

function rpmArgs(layout: WorkdirLayout, ...rest: string[]): string[] {
  return ['--root', layout.root, '--dbpath', RPMDB_PATH, ...rest];
}

async function rpm(layout: WorkdirLayout, args: string[], stop: ChildStop | undefined) {
  const cancel = stop?.signal;
  const sub = execa('rpm', args, {
    env: { HOME: layout.home, LC_ALL: 'C.UTF-8' },
    reject: false,
    stdin: 'ignore',
    timeout: 10 * 60_000,
    ...stopOptions(stop),
  });
  trackChild(sub, stop);
  const result = await sub;
  if (await stoppedWithRun(result, stop)) throw cancel?.reason;
  return result;
}

/**
 * Makes sure this machine's rpm can read dom0's database, rebuilding it when it cannot or when it
 * is in the Berkeley DB format (which current rpm only reads) rather than sqlite.
 * Returns whether a rebuild was needed.
 */
export async function ensureRpmdbReadable(layout: WorkdirLayout, stop?: ChildStop): Promise<boolean> {
  const files = await readdir(layout.rpmdbDir).catch(() => [] as string[]);
  const legacy = files.includes('Packages') && !files.includes('rpmdb.sqlite');
  const query = rpmArgs(layout, '-qa', '--qf', '%{NAME}\\n');
  if (!legacy) {
    const first = await rpm(layout, query, stop);
    if (first.code === 'ENOENT') throw new StateError('RPM_MISSING', 'rpm is not installed; dnf needs it');
    if (first.exitCode === 0) return false;
  }
  const rebuild = await rpm(layout, rpmArgs(layout, '--rebuilddb'), stop);
  if (rebuild.code === 'ENOENT') throw new StateError('RPM_MISSING', 'rpm is not installed; dnf needs it');
  const again = await rpm(layout, query, stop);
  if (rebuild.exitCode !== 0 || again.exitCode !== 0) {
    const stderr = `${rebuild.stderr}\n${again.stderr}`;
    throw new StateError('RPMDB_UNREADABLE', `dom0's rpm database cannot be read here, even after a rebuild\n${sanitizeLines(stderr, 8)}`);
  }
  return true;
}

/** dom0's release version from its rpmdb (the package providing system-release), if it has one. */
export async function detectReleasever(layout: WorkdirLayout, stop?: ChildStop): Promise<string | undefined> {
  const out = await rpm(layout, rpmArgs(layout, '-q', '--whatprovides', 'system-release', '--qf', '%{VERSION}\\n'), stop);
  if (out.exitCode !== 0 || typeof out.stdout !== 'string') return undefined;
  const first = out.stdout.split('\n', 1)[0]?.trim() ?? '';
  return /^[A-Za-z0-9._-]{1,64}$/.test(first) ? first : undefined;
}
