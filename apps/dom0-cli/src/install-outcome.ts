/**
 * After dom0's dnf: what changed in dom0's rpm database, set against what the receiver verified.
 * Only dom0's own data is compared (the result record and the rpm database before and after), so
 * an update the UpdateVM sent but dnf left out is said, never hidden behind an exit 0.
 */
import { EXIT, InstallError } from './errors.ts';
import { diffInstalled, displayEvr, evrOf, newerInstalled, newestUpgradableInstalled, type InstalledPackage } from './installed.ts';
import { compareEvr } from './version-order.ts';
import { missedUpgrades, type MissedUpgrade } from './missed-upgrades.ts';
import type { RunOptions } from './options.ts';
import type { PackageSpecs } from './package-match.ts';
import type { PackageChange, Reporter } from './reporter.ts';
import type { VerifiedBuild } from './result-record.ts';
import { nameTogetherHint, type CachedPackage, type ObsoletingBuild, type RenamingBuild } from './withheld.ts';

export interface OutcomeContext {
  readonly options: RunOptions;
  readonly reporter: Reporter;
  readonly dom0Root: string;
  readonly rpmdbPath: string;
}

export interface InstallFacts {
  readonly installedBefore: readonly InstalledPackage[];
  readonly installedAfter: readonly InstalledPackage[];
  /** The batch's packages, or (no batch arrived) the cached updates of installed packages dnf was given. */
  readonly received: readonly VerifiedBuild[];
  /** No batch arrived: `received` are the cached repository's updates from earlier runs. */
  readonly fromCache: boolean;
  /** Builds withheld from dnf for their Obsoletes. */
  readonly obsoleting: readonly ObsoletingBuild[];
  /** Names withheld from dnf as neither installed nor requested. */
  readonly withheld: readonly string[];
  /** Builds of withheld names whose Obsoletes match installed packages (likely renames). */
  readonly renaming: readonly RenamingBuild[];
  /** The command line's specs as dnf read them in this run. */
  readonly specs: PackageSpecs;
  /** Why dom0's dnf left a build out on the command line's or dnf.conf's say, if it did (cache-plan.ts). */
  readonly excludedBy: (build: VerifiedBuild) => string | undefined;
}

/** Reports every change and every verified package left out; throws when an update was missed. */
export function reportInstallOutcome(context: OutcomeContext, facts: InstallFacts): number {
  const { options, reporter } = context;
  const changes = diffInstalled(facts.installedBefore, facts.installedAfter);
  for (const change of changes) reporter.change(change);
  warnRemovedUnnamed(context, facts, changes);
  // Withheld for its Obsoletes: said why, and not a failure (naming it is the user's choice).
  const withheldForObsoletes = (pkg: VerifiedBuild): boolean => obsoletingBuildOf(facts.obsoleting, pkg) !== undefined;
  // Also when dnf changed something else: one harmless upgrade must not hide a held-back update.
  // An install by name too: a requested update left out (another build took its place) is not done.
  const missed =
    options.action === 'upgrade' || options.action === 'install'
      ? missedUpgradesToReport(options, facts).filter((m) => !withheldForObsoletes(m.received))
      : [];
  reportNotInstalled(context, facts, missed);
  for (const { received: pkg, installed, installedArch } of missed) {
    reporter.warning(`verified update ${pkg.nevra} of the installed ${pkg.name}.${installedArch} ${displayEvr(installed)} was not installed`);
  }
  // with --skip-broken the user asked dnf to leave out updates it cannot resolve: warn, do not fail
  if (missed.length > 0 && !options.dom0DnfOptions.includes('--skip-broken')) {
    // a new dependency dom0 withheld is the usual cause, and the one the user can act on
    const shown = facts.withheld.slice(0, 5).join(', ') + (facts.withheld.length > 5 ? ', ...' : '');
    const causes =
      facts.withheld.length === 0
        ? 'the updates need packages the UpdateVM did not send or dom0 withheld (see above; --best makes dnf say which), or a scriptlet of theirs failed (dnf\'s output above says)'
        : `the updates need a package dom0 withheld as neither installed nor requested (${shown}: ${nameTogetherHint([...new Set(missed.map((m) => m.received.name))])}) or one the UpdateVM did not send (--best makes dnf say which), or a scriptlet of theirs failed (dnf's output above says)`;
    // cached by earlier runs: what no longer resolves stays in the cache until it is emptied
    const source = facts.fromCache ? " (cached by earlier runs; --clean empties dom0's cached repository)" : '';
    if (changes.length > 0) {
      throw new InstallError(
        'INSTALL_INCOMPLETE',
        `dom0's dnf made ${changes.length} change(s) but left out ${missed.length} verified update(s) of installed packages (named above)${source}: ${causes}`,
      );
    }
    throw new InstallError(
      'INSTALL_NOTHING_DONE',
      `dom0's dnf changed nothing although ${missed.length} verified update(s) of installed packages ${facts.fromCache ? `are in the cached repository${source}` : 'arrived'}: ${causes}; or dnf reads another rpm database than ${context.rpmdbPath} in ${context.dom0Root}`,
    );
  }
  if (changes.length === 0) {
    reporter.done('no_updates', EXIT.ok, 'Nothing changed in dom0.');
  } else {
    reporter.done('success', EXIT.ok, `Done: ${changes.length} package change(s) in dom0.`);
  }
  return EXIT.ok;
}

/**
 * A package dnf removed whose name is gone from dom0 and that the command line did not name. dnf
 * removes one for the Obsoletes: of a package that came in (a kernel past installonly_limit
 * leaves others of its name), or with --allowerasing for any dependency, and dom0 offers an
 * obsoleting package only when it was named; but with -y the UpdateVM chose which signed build of
 * it arrived, so the removal is said, not only listed.
 */
function warnRemovedUnnamed({ options, reporter }: OutcomeContext, facts: InstallFacts, changes: readonly PackageChange[]): void {
  const namesAfter = new Set(facts.installedAfter.map((p) => p.name));
  for (const change of changes) {
    if (change.kind !== 'removed') continue;
    const name = change.name.slice(0, change.name.lastIndexOf('.'));
    if (namesAfter.has(name) || (options.packages.length > 0 && facts.specs.selects(options.packages, name))) continue;
    const why = options.dom0DnfOptions.includes('--allowerasing')
      ? 'a package that came in replaced it through its Obsoletes:, or dnf removed it for a dependency (--allowerasing)'
      : 'a package that came in replaced it through its Obsoletes:';
    reporter.warning(`dom0's dnf removed ${change.name} ${change.from ?? ''}, which the command line did not name: ${why} (dnf's output above says which)`);
  }
}

/** Says why each received package that is not installed (and not a missed update) stayed out. */
function reportNotInstalled({ options, reporter }: OutcomeContext, facts: InstallFacts, missed: readonly MissedUpgrade[]): void {
  const present = new Set(facts.installedAfter.map((p) => `${p.name}.${p.arch} ${p.evr}`));
  for (const pkg of facts.received) {
    const installed = present.has(`${pkg.name}.${pkg.arch} ${evrOf(pkg)}`);
    if (installed || missed.some((m) => m.received === pkg)) continue;
    const build = obsoletingBuildOf(facts.obsoleting, pkg);
    if (build !== undefined) {
      reporter.warning(
        `verified package ${pkg.nevra} was not installed: its Obsoletes would replace ${build.replaces.join(', ')}; to accept that, name it (dom0-update ${pkg.name})`,
      );
      continue;
    }
    // a rollback only against what was installed before (in an arch dnf would replace, as for an
    // update): a newer build from the cache may have come in with this run
    const newer = newerInstalled(facts.installedBefore, pkg.name, pkg.arch, evrOf(pkg));
    const after = newestUpgradableInstalled(facts.installedAfter, pkg.name, pkg.arch);
    const cameIn = after !== undefined && !facts.installedBefore.some((p) => p.name === after.name && p.arch === after.arch && p.evr === after.evr);
    const superseded = newer === undefined && cameIn && compareEvr(after.evr, evrOf(pkg)) > 0 ? after : undefined;
    if (superseded !== undefined) {
      reporter.info(`Verified package ${pkg.nevra} was not installed: this run installed the newer ${displayEvr(superseded.evr)} of ${pkg.name}.${superseded.arch}.`);
      continue;
    }
    const exclusion = facts.excludedBy(pkg);
    if (exclusion !== undefined) {
      reporter.info(`Verified package ${pkg.nevra} was not installed: dom0's dnf leaves it out, as ${exclusion}.`);
      continue;
    }
    if (facts.specs.selects(options.packages, pkg.name)) {
      // a downgrade was asked for: an older version is what the user wanted, not an attack
      const rollback = newer === undefined || options.action === 'downgrade' ? '' : ` (older than the installed ${displayEvr(newer.evr)}: an attempted rollback)`;
      reporter.warning(`requested package ${pkg.nevra} was received but is not installed${rollback}`);
    } else {
      const rename = facts.renaming.find(({ package: b }) => sameBuild(b, pkg));
      reporter.unrequested(pkg.nevra, newer === undefined ? undefined : displayEvr(newer.evr), rename === undefined ? undefined : { name: pkg.name, replaces: rename.replaces });
    }
  }
}

function sameBuild(b: CachedPackage, pkg: VerifiedBuild): boolean {
  return b.name === pkg.name && b.arch === pkg.arch && evrOf(b) === evrOf(pkg);
}

function obsoletingBuildOf(obsoleting: readonly ObsoletingBuild[], pkg: VerifiedBuild): ObsoletingBuild | undefined {
  return obsoleting.find(({ package: b }) => sameBuild(b, pkg));
}

/** Received updates of installed packages dnf left out, except those dom0's dnf excludes or the user did not name. */
function missedUpgradesToReport(options: RunOptions, { specs, received, installedAfter, excludedBy }: InstallFacts): MissedUpgrade[] {
  const wanted = (build: VerifiedBuild): boolean => excludedBy(build) === undefined && (options.packages.length === 0 || specs.selects(options.packages, build.name));
  return missedUpgrades(received, installedAfter).filter((m) => wanted(m.received));
}
