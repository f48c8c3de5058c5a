/**
 * Received or cached verified packages that are newer than what is installed under the same name
 * and arch, yet still not installed after dom0's dnf ran (an upgrade, or an install by name),
 * whether or not dnf changed anything else. A dnf
 * reading another rpm database than the one dom0-update queries looks exactly like this, and so
 * does an update held back by a dependency dom0 withheld; either way the user must hear that the
 * updates they received are not in dom0, rather than see them listed as unrequested.
 */
import { evrOf, newestUpgradableInstalled, type InstalledPackage } from './installed.ts';
import type { VerifiedBuild } from './result-record.ts';
import { compareEvr } from './version-order.ts';

export interface MissedUpgrade {
  readonly received: VerifiedBuild;
  /** The installed `epoch:version-release` it would have replaced (the newest, if several). */
  readonly installed: string;
  /** Its arch: the update's own, or noarch where the update is not (or the other way round). */
  readonly installedArch: string;
}

/**
 * Received packages newer, in rpm's version order, than every installed version of their name in
 * an arch dnf upgrades from (the same, or across noarch).
 */
export function missedUpgrades(received: readonly VerifiedBuild[], installed: readonly InstalledPackage[]): MissedUpgrade[] {
  const missed: MissedUpgrade[] = [];
  for (const pkg of received) {
    const evr = evrOf(pkg);
    const newest = newestUpgradableInstalled(installed, pkg.name, pkg.arch);
    if (newest !== undefined && compareEvr(evr, newest.evr) > 0) missed.push({ received: pkg, installed: newest.evr, installedArch: newest.arch });
  }
  return missed;
}

/**
 * The updates of installed packages that the cached repository already holds, for a run that
 * received no batch: per installed name and arch, the newest build newer than every installed one
 * it would replace.
 */
export function cachedUpdates(cached: readonly VerifiedBuild[], installed: readonly InstalledPackage[]): VerifiedBuild[] {
  const newest = new Map<string, VerifiedBuild>();
  for (const { received: build, installedArch } of missedUpgrades(cached, installed)) {
    const key = `${build.name}.${installedArch}`;
    const seen = newest.get(key);
    if (seen === undefined || compareEvr(evrOf(build), evrOf(seen)) > 0) newest.set(key, build);
  }
  return [...newest.values()];
}
