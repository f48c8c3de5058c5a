/**
 * What dom0's dnf leaves out whatever the cached repository offers it: the command line's
 * exclusions (options.ts passes them as --exclude=) and the ones in dom0's dnf.conf, which dnf
 * reads itself. A build either excludes is neither counted as an update nor called a missed one.
 */
import { readDnfConfMain } from './dnf-conf.ts';
import type { RunOptions } from './options.ts';
import type { PackageBuild, PackageSpecs } from './package-match.ts';
import type { VerifiedBuild } from './result-record.ts';

export interface Dom0Exclusions {
  readonly commandLine: readonly string[];
  readonly dnfConf: readonly string[];
  /** The dnf.conf they were read from (DNF_CONF). */
  readonly dnfConfPath: string;
}

export function dom0Exclusions(options: RunOptions, dnfConfPath: string): Dom0Exclusions {
  const commandLine = options.dom0DnfOptions.filter((o) => o.startsWith('--exclude=')).map((o) => o.slice('--exclude='.length));
  return { commandLine, dnfConf: readDnfConfMain(dnfConfPath).excluded, dnfConfPath };
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
    return undefined;
  };
}
