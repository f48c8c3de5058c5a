/**
 * What dom0 offers its dnf from the cached repository and what it withholds, decided from the
 * repository's own headers and dom0's rpm database alone (withheld.ts has each rule). One plan
 * serves an install and a check, so a check never counts a build an install would withhold.
 */
import { exclusionOf, type Dom0Exclusions } from './exclusions.ts';
import { installedBuild, type InstalledPackage } from './installed.ts';
import { cachedUpdates } from './missed-upgrades.ts';
import type { RunOptions } from './options.ts';
import { isForeignArch, nevraString, PackageSpecs, type PackageBuild } from './package-match.ts';
import type { VerifiedBuild } from './result-record.ts';
import {
  dom0PackageSpecs,
  foreignArchBuilds,
  namesToWithhold,
  newArchBuilds,
  obsoletingBuilds,
  oddArchBuilds,
  olderBuilds,
  renamingBuilds,
  unpinnedBuilds,
  withheldBuildSpecs,
  type CachedPackage,
  type ForeignArchBuild,
  type NewArchBuild,
  type ObsoletingBuild,
  type OddArchBuild,
  type OlderBuild,
  type RenamingBuild,
  type UnpinnedBuild,
} from './withheld.ts';

export interface CachePlan {
  /** How command-line names select packages, read against what dnf will see. */
  readonly specs: PackageSpecs;
  /** Names in the cache that are neither installed nor requested. */
  readonly withheld: readonly string[];
  readonly obsoleting: readonly ObsoletingBuild[];
  readonly renaming: readonly RenamingBuild[];
  readonly older: readonly OlderBuild[];
  readonly newArch: readonly NewArchBuild[];
  readonly unpinned: readonly UnpinnedBuild[];
  readonly oddArch: readonly OddArchBuild[];
  /** Builds of an arch this machine's dnf never installs. */
  readonly foreignArch: readonly ForeignArchBuild[];
  /** Every withheld name and build as excludepkgs entries of the repository dnf reads. */
  readonly excluded: readonly string[];
  /** The builds dnf is offered that the command line selects and neither it nor dom0's dnf.conf excludes. */
  readonly offered: readonly CachedPackage[];
  /** Why dom0's dnf leaves a build out, if it does: the command line's or dnf.conf's say, or an arch this machine does not run. */
  readonly excludedBy: (build: VerifiedBuild | PackageBuild) => string | undefined;
}

export function planCachedRepo(
  cached: readonly CachedPackage[],
  installed: readonly InstalledPackage[],
  options: RunOptions,
  pinnedKeyIds: ReadonlySet<string>,
  arch: string,
  exclusions: Dom0Exclusions,
): CachePlan {
  const unpinned = unpinnedBuilds(cached, pinnedKeyIds);
  const oddArch = oddArchBuilds(cached);
  // specs are read against what dnf will see: not the builds withheld whatever the command line says
  const hidden = new Set([...unpinned, ...oddArch].map((build) => build.package));
  const visible = cached.filter((pkg) => !hidden.has(pkg));
  const specs = dom0PackageSpecs(visible, installed);
  const withheld = namesToWithhold(visible, installed, options.packages, specs);
  const obsoleting = obsoletingBuilds(visible, installed, options.packages, specs);
  const renaming = renamingBuilds(visible, installed, withheld);
  const older = olderBuilds(visible, installed, options.action, options.packages, specs);
  const foreignArch = foreignArchBuilds(visible, arch);
  const foreign = new Set(foreignArch.map((build) => build.package));
  // naming a foreign build with its arch would not let it in: it is no new arch to consent to
  const newArch = newArchBuilds(visible.filter((pkg) => !foreign.has(pkg)), installed, options.packages, arch, specs);
  // in the repository's own definition, not on the command line: the list grows with the cache
  // (every upgrade leaves old builds behind) and must never outgrow what exec takes
  const withheldBuilds = [...obsoleting, ...older, ...newArch, ...unpinned, ...oddArch, ...foreignArch];
  const excluded = [...new Set([...withheldBuildSpecs(cached, withheld), ...withheldBuilds.map((build) => build.spec)])];
  const withheldPackages = new Set(withheldBuilds.map((build) => build.package));
  const withheldNames = new Set(withheld);
  // dnf reads these before the repository's own excludepkgs, against every build it sees
  const excludedByConfig = exclusionOf(exclusions, new PackageSpecs(installed.map(installedBuild), cached, true));
  const excludedBy = (build: VerifiedBuild | PackageBuild): string | undefined =>
    isForeignArch(arch, build.arch) ? `this machine (${arch}) does not run ${build.arch} builds` : excludedByConfig(build);
  const offered = visible.filter(
    (build) =>
      !withheldPackages.has(build) &&
      !withheldNames.has(build.name) &&
      excludedBy(build) === undefined &&
      (options.packages.length === 0 || specs.selects(options.packages, build.name)),
  );
  return { specs, withheld, obsoleting, renaming, older, newArch, unpinned, oddArch, foreignArch, excluded, offered, excludedBy };
}

/** The plan's offered builds that update an installed package: per name and arch, the newest. */
export function offeredUpdates(plan: CachePlan, installed: readonly InstalledPackage[]): VerifiedBuild[] {
  return cachedUpdates(
    plan.offered.map((build) => ({ ...build, epoch: Number(build.epoch), nevra: nevraString(build) })),
    installed,
  );
}
