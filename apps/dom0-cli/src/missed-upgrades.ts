/**
 * A check under dnf's "Nothing to do": received, verified packages that are newer than what is
 * installed under the same name and arch, yet still not installed after a plain upgrade. A dnf
 * reading another rpm database than the one dom0-update queries looks exactly like this, and so
 * does an update held back by a dependency dom0 withheld; either way the user must hear that the
 * updates they received are not in dom0, rather than see them listed as unrequested.
 */
import { evrOf, newestInstalled, type InstalledPackage } from './installed.ts';
import type { ReceivedPackage } from './result-record.ts';
import { compareEvr } from './version-order.ts';

export interface MissedUpgrade {
  readonly received: ReceivedPackage;
  /** The installed `epoch:version-release` it would have replaced (the newest, if several). */
  readonly installed: string;
}

/** Received packages newer, in rpm's version order, than every installed version of their name.arch. */
export function missedUpgrades(received: readonly ReceivedPackage[], installed: readonly InstalledPackage[]): MissedUpgrade[] {
  const missed: MissedUpgrade[] = [];
  for (const pkg of received) {
    const evr = evrOf(pkg);
    const newest = newestInstalled(installed, pkg.name, pkg.arch);
    if (newest !== undefined && compareEvr(evr, newest.evr) > 0) missed.push({ received: pkg, installed: newest.evr });
  }
  return missed;
}
