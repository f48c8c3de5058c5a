import { realpath } from 'node:fs/promises';
import { ConfigError } from '../errors.ts';
import { errnoReason, spaceReason } from '../output/reason.ts';
import { layoutOf, type Layout } from './layout.ts';
import { makeDirs } from './make-dirs.ts';

/** An updates dir the receiver cannot even start in (read-only, no permission): dom0's configuration. */
export function unusableUpdatesDir(dir: string, what: string, error: unknown): ConfigError {
  const reason = errnoReason(error);
  // mkdir's EEXIST on a path that is not a directory: say what is in the way
  const inTheWay = what === 'create it' && (reason === 'EEXIST' || reason === 'ENOTDIR');
  const detail = inTheWay ? `${reason === 'EEXIST' ? 'it' : 'a parent'} exists and is not a directory, ${reason}` : reason;
  // a full disk stops even `clean` (its lock is a file): say what frees room by hand
  const full = spaceReason(error);
  if (full !== undefined) {
    return new ConfigError(
      'CONFIG_INVALID',
      `the updates dir ${dir} cannot be used: cannot ${what}: ${full}; free some room on it first (the generations under ${dir}/generations other than the one \`repo\` points to can be removed by hand)`,
    );
  }
  return new ConfigError('CONFIG_INVALID', `the updates dir ${dir} cannot be used: cannot ${what} (${detail})`);
}

/**
 * Creates the updates dir if missing and lays it out by its real path: the stage's write
 * permission, its bwrap bind and its working dir all name the staging dir, and the kernel reports
 * a working dir by its real path, so a symlinked DIR (or parent) would put the stage outside its
 * own allowance.
 */
export async function resolveUpdatesDir(dir: string): Promise<Layout> {
  // refused before anything is created; a `*` only the real path shows is refused below
  refuseWildcard(dir);
  try {
    await makeDirs(dir, 0o755);
  } catch (error) {
    throw unusableUpdatesDir(dir, 'create it', error);
  }
  let real: string;
  try {
    real = await realpath(dir);
  } catch (error) {
    throw unusableUpdatesDir(dir, 'resolve its real path', error);
  }
  refuseWildcard(real);
  return layoutOf(real);
}

/**
 * Node's permission model reads `*` in an allowed path as a wildcard, which would widen the
 * stage's write access beyond its staging dir.
 */
function refuseWildcard(path: string): void {
  if (path.includes('*')) {
    throw new ConfigError('CONFIG_INVALID', `the updates dir ${path} cannot be used: its path contains '*', which the stage's write permission would read as a wildcard`);
  }
}
