import { constants } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

// node's fs.constants has no S_ISUID
const SET_UID_BIT = 0o4000;

/** Who the stage runs as: uid, primary gid and any supplementary groups it keeps. */
export interface StageIdentity {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

/**
 * Whether `identity` may search (x) a directory, by plain mode bits as the kernel applies them:
 * the owner class wins even when it lacks x, then the group class, then others. ACLs are not read.
 */
function maySearch(st: { uid: number; gid: number; mode: number }, identity: StageIdentity): boolean {
  if (identity.uid === 0) return true;
  if (st.uid === identity.uid) return (st.mode & constants.S_IXUSR) !== 0;
  if (st.gid === identity.gid || identity.groups.includes(st.gid)) return (st.mode & constants.S_IXGRP) !== 0;
  return (st.mode & constants.S_IXOTH) !== 0;
}

/** The directory itself and every ancestor up to `/`, outermost first. */
function selfAndAncestors(dir: string): string[] {
  const chain = [dir];
  for (let d = dir; dirname(d) !== d; d = dirname(d)) chain.unshift(dirname(d));
  return chain;
}

/**
 * Why the stage identity could not reach `dir` by path, or undefined when it can. bwrap binds the
 * staging dir by its path after the uid change, so every component must be searchable by that uid.
 * The receiver already hands over the real path; resolving it again keeps this check true on its own.
 */
export async function pathUnreachableReason(dir: string, identity: StageIdentity): Promise<string | undefined> {
  const real = await realpath(dir);
  for (const component of selfAndAncestors(real)) {
    const st = await stat(component);
    if (!maySearch(st, identity)) {
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      return `the stage uid ${identity.uid} cannot search ${component} (mode ${mode}, owner ${st.uid}:${st.gid}), so bwrap could not bind the staging dir ${dir} after the uid change`;
    }
  }
  return undefined;
}

async function sysctl(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined; // this kernel has no such knob
  }
}

/**
 * Why bwrap at `bwrapPath` could not create its namespaces for an unprivileged uid, or undefined
 * when nothing says it cannot. A setuid-root bwrap needs no unprivileged user namespaces.
 */
export async function namespacesUnavailableReason(bwrapPath: string, identity: StageIdentity): Promise<string | undefined> {
  if (identity.uid === 0) return undefined;
  const st = await stat(bwrapPath);
  if ((st.mode & SET_UID_BIT) !== 0 && st.uid === 0) return undefined;
  if ((await sysctl('/proc/sys/user/max_user_namespaces')) === '0') {
    return 'user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0) and bwrap is not setuid root';
  }
  if ((await sysctl('/proc/sys/kernel/unprivileged_userns_clone')) === '0') {
    return 'unprivileged user namespaces are disabled (/proc/sys/kernel/unprivileged_userns_clone is 0) and bwrap is not setuid root';
  }
  return undefined;
}
