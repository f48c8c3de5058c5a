/**
 * What is installed in the dom0 root, read with rpm before and after the install step, and the
 * difference between the two: the report of what changed is computed, not taken from dnf's output.
 */
import { execa } from 'execa';
import { StateError } from './errors.ts';
import type { PackageBuild } from './package-match.ts';
import type { ChangeKind, PackageChange } from './reporter.ts';
import { compareEvr } from './version-order.ts';

export interface InstalledPackage {
  readonly name: string;
  readonly arch: string;
  /** `epoch:version-release`, epoch always present. */
  readonly evr: string;
  /**
   * The header's instance number in the rpmdb: a reinstall writes a new header, so it changes
   * even within the same second (install transaction ids are timestamps and would not).
   */
  readonly instance: string;
}

const QUERY_FORMAT = '%{NAME}\\t%{ARCH}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{DBINSTANCE}\\n';

export async function listInstalled(root: string, dbpath: string): Promise<InstalledPackage[]> {
  const result = await execa('rpm', ['--root', root, '--dbpath', dbpath, '-qa', '--qf', QUERY_FORMAT], {
    reject: false,
    stdin: 'ignore',
  });
  if (result.failed) {
    throw new StateError('STATE_RPM_QUERY', `rpm -qa in ${root} failed: ${result.stderr.trim() || result.shortMessage}`);
  }
  return parseInstalled(result.stdout);
}

export function parseInstalled(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const line of text.split('\n')) {
    const [name, arch, evr, instance] = line.split('\t');
    if (name === undefined || arch === undefined || evr === undefined || instance === undefined) continue;
    out.push({ name, arch, evr, instance });
  }
  return out;
}

/** The `epoch:version-release` of a package header's fields, the form rpm -qa gives here. */
export function evrOf(pkg: { readonly epoch: string | number; readonly version: string; readonly release: string }): string {
  return `${pkg.epoch}:${pkg.version}-${pkg.release}`;
}

/** An installed package as the fields of a build: `evr` split at its `:` and first `-` (rpm allows no `-` in a version). */
export function installedBuild(pkg: InstalledPackage): PackageBuild {
  const colon = pkg.evr.indexOf(':');
  const dash = pkg.evr.indexOf('-', colon + 1);
  return { name: pkg.name, arch: pkg.arch, epoch: pkg.evr.slice(0, colon), version: pkg.evr.slice(colon + 1, dash), release: pkg.evr.slice(dash + 1) };
}

/** Display form of an EVR: the epoch only when it is not zero. */
export function displayEvr(evr: string): string {
  return evr.startsWith('0:') ? evr.slice(2) : evr;
}

/** Installed packages by `name.arch`: one entry each, several for an install-only package's versions. */
export function groupByNameArch(list: readonly InstalledPackage[]): Map<string, InstalledPackage[]> {
  const map = new Map<string, InstalledPackage[]>();
  for (const p of list) {
    const key = `${p.name}.${p.arch}`;
    map.set(key, [...(map.get(key) ?? []), p]);
  }
  return map;
}

/**
 * The changes between two listings. A new version of a package installed once is an upgrade or a
 * downgrade by rpm's version order, whatever action was asked for: a rollback is never reported
 * as an upgrade. So is a package that moved between noarch and an arch (dnf updates across that
 * line; a listing keyed by name.arch alone would call it one removal and one install).
 */
export function diffInstalled(before: readonly InstalledPackage[], after: readonly InstalledPackage[]): PackageChange[] {
  const old = groupByNameArch(before);
  const now = groupByNameArch(after);
  const changes: PackageChange[] = [];
  const versionChange = (was: InstalledPackage, is: InstalledPackage): PackageChange => {
    // the same version (in rpm's order: 1.0 and 1.00 are one) under another arch: only the arch moved
    const order = compareEvr(is.evr, was.evr);
    return {
      kind: order === 0 ? 'reinstalled' : order < 0 ? 'downgraded' : 'upgraded',
      name: `${is.name}.${is.arch}`,
      from: displayEvr(was.evr),
      to: displayEvr(is.evr),
      ...(was.arch === is.arch ? {} : { fromArch: was.arch }),
    };
  };
  const archMoves = archMovesBetween(before, after);
  const keys = [...new Set([...old.keys(), ...now.keys()])].sort();
  for (const key of keys) {
    const was = old.get(key) ?? [];
    const is = now.get(key) ?? [];
    const change = (kind: ChangeKind, from: string | undefined, to: string | undefined): void => {
      changes.push({ kind, name: key, from: from === undefined ? undefined : displayEvr(from), to: to === undefined ? undefined : displayEvr(to) });
    };
    const [onlyWas] = was;
    const [onlyIs] = is;
    const name = (onlyIs ?? onlyWas)?.name;
    const moved = name === undefined ? undefined : archMoves.get(name);
    if (moved !== undefined) {
      // its two keys: reported once, under the arch it has now
      if (onlyIs === moved.is) changes.push(versionChange(moved.was, moved.is));
      continue;
    }
    if (was.length === 1 && is.length === 1 && onlyWas !== undefined && onlyIs !== undefined) {
      if (onlyWas.evr !== onlyIs.evr) changes.push(versionChange(onlyWas, onlyIs));
      else if (onlyWas.instance !== onlyIs.instance) change('reinstalled', undefined, onlyIs.evr);
      continue;
    }
    // Several versions side by side (install-only packages such as kernels): report each one.
    const wasEvrs = new Set(was.map((p) => p.evr));
    const isEvrs = new Set(is.map((p) => p.evr));
    for (const p of is) if (!wasEvrs.has(p.evr)) change('installed', undefined, p.evr);
    for (const p of was) if (!isEvrs.has(p.evr)) change('removed', p.evr, undefined);
  }
  return changes;
}

/**
 * Packages installed once before and once after, in one arch before and another after, one of
 * them noarch: by name, the copy before and the copy after.
 */
function archMovesBetween(before: readonly InstalledPackage[], after: readonly InstalledPackage[]): Map<string, { was: InstalledPackage; is: InstalledPackage }> {
  const only = (list: readonly InstalledPackage[]): Map<string, InstalledPackage | null> => {
    const map = new Map<string, InstalledPackage | null>();
    for (const p of list) map.set(p.name, map.has(p.name) ? null : p);
    return map;
  };
  const was = only(before);
  const moves = new Map<string, { was: InstalledPackage; is: InstalledPackage }>();
  for (const [name, is] of only(after)) {
    const from = was.get(name);
    if (is === null || from === null || from === undefined || from.arch === is.arch) continue;
    if (from.arch === 'noarch' || is.arch === 'noarch') moves.set(name, { was: from, is });
  }
  return moves;
}

/**
 * The newest installed version of `name.arch` (of `name` in any arch when `arch` is undefined) in
 * rpm's order (install-only packages have several).
 */
export function newestInstalled(installed: readonly InstalledPackage[], name: string, arch: string | undefined): InstalledPackage | undefined {
  let newest: InstalledPackage | undefined;
  for (const p of installed) {
    if (p.name === name && (arch === undefined || p.arch === arch) && (newest === undefined || compareEvr(p.evr, newest.evr) > 0)) newest = p;
  }
  return newest;
}

/**
 * dnf upgrades a package across noarch and an arch (one that becomes arch-specific, or stops
 * being so), never from one arch to another: the installed packages an update of `name.arch` replaces.
 */
export function newestUpgradableInstalled(installed: readonly InstalledPackage[], name: string, arch: string): InstalledPackage | undefined {
  return newestInstalled(
    installed.filter((p) => p.arch === arch || p.arch === 'noarch' || arch === 'noarch'),
    name,
    undefined,
  );
}

/**
 * The newest installed version of `name` that a build of `name.arch` would replace (newestUpgradableInstalled)
 * when it is newer than `evr`, else undefined: a received package older than that would be a rollback.
 */
export function newerInstalled(installed: readonly InstalledPackage[], name: string, arch: string, evr: string): InstalledPackage | undefined {
  const newest = newestUpgradableInstalled(installed, name, arch);
  return newest !== undefined && compareEvr(newest.evr, evr) > 0 ? newest : undefined;
}
