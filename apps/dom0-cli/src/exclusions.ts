/**
 * What dom0's dnf leaves out whatever the cached repository offers it: the command line's
 * exclusions (options.ts passes them as --exclude=) and the ones in dom0's dnf.conf, which dnf
 * reads itself (excludepkgs, and includepkgs where it names anything). A build either excludes is neither counted as an update nor called a missed one.
 */
import { readDnfConfMain } from './dnf-conf.ts';
import type { RunOptions } from './options.ts';
import type { PackageBuild, PackageSpecs } from './package-match.ts';
import type { VerifiedBuild } from './result-record.ts';

export interface Dom0Exclusions {
  readonly commandLine: readonly string[];
  readonly dnfConf: readonly string[];
  /** dnf.conf's includepkgs; empty when it names nothing, and then it hides nothing. */
  readonly dnfConfIncluded: readonly string[];
  /** The dnf.conf they were read from (DNF_CONF). */
  readonly dnfConfPath: string;
}

export function dom0Exclusions(options: RunOptions, dnfConfPath: string): Dom0Exclusions {
  const commandLine = options.dom0DnfOptions.filter((o) => o.startsWith('--exclude=')).map((o) => o.slice('--exclude='.length));
  const conf = readDnfConfMain(dnfConfPath);
  return { commandLine, dnfConf: conf.excluded, dnfConfIncluded: conf.included, dnfConfPath };
}

/**
 * Where the exclusion of a build comes from, if dom0's dnf excludes it. dnf excludes builds, not
 * names: it reads an exclude as it reads a package spec, so `*.i686` leaves glibc.x86_64 in and
 * `xen-4.17.3-1.fc37` leaves xen 4.17.4 in.
 */
export function exclusionOf(exclusions: Dom0Exclusions, specs: PackageSpecs): (build: VerifiedBuild | PackageBuild) => string | undefined {
  return (build) => {
    const exact = { ...build, epoch: String(build.epoch) };
    if (specs.selectsBuild(exclusions.commandLine, exact)) return 'the command line excludes it';
    if (specs.selectsBuild(exclusions.dnfConf, exact)) return `excludepkgs in ${exclusions.dnfConfPath} excludes it`;
    if (exclusions.dnfConfIncluded.length > 0 && !specs.selectsBuild(exclusions.dnfConfIncluded, exact)) return `includepkgs in ${exclusions.dnfConfPath} does not name it`;
    return undefined;
  };
}
