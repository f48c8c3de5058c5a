/**
 * The cached repository may hold validly signed packages nobody asked for: an UpdateVM can send
 * any package a pinned key signed, and generations carry earlier batches over. dom0's dnf must not
 * let those in as a side effect (an Obsoletes that replaces an installed package, a Provides that
 * poses as an upgrade). So every name in the cached repository that is neither installed in dom0
 * nor named on the command line is withheld from dnf (each of its builds, exactly, in the cached
 * repository's excludepkgs: withheldBuildSpecs). A requested update that needs
 * a new dependency then fails to resolve instead of silently pulling in a new name; naming the new
 * package on the command line lets it in. A build of an installed name whose Obsoletes would remove
 * another installed package, or replace a requested one, is withheld too, by its exact version
 * (obsoletingBuilds), and so is a build older than the installed version of its name
 * (olderBuilds): dnf would otherwise roll the package back to satisfy another one's dependency.
 */
import { readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { sanitizeForTerminal } from '@dom0-updates/protocol';
import { InstallError } from './errors.ts';
import { displayEvr, evrOf, installedBuild, newestInstalled, type InstalledPackage } from './installed.ts';
import type { Action } from './options.ts';
import { isForeignArch, isGlob, isKnownArch, matchesAsName, PackageSpecs } from './package-match.ts';
import { compareEvr, inDependencyRange } from './version-order.ts';

/** Package names dnf can take as an exact exclude pattern: no glob or other special characters, no comma or space. */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,254}$/;

/**
 * The published generation behind `<updatesDir>/repo`, resolved once. The names dom0 withholds and
 * the repository dnf reads must be the same: the receiver may publish a new generation at any
 * moment (an UpdateVM can call the service whenever it likes), and generations never change, so
 * dnf reads a snapshot of this directory (repo-snapshot.ts) rather than the `repo` link.
 * Undefined when nothing was ever published.
 */
export function pinPublishedRepo(updatesDir: string): string | undefined {
  try {
    return realpathSync(join(updatesDir, 'repo'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InstallError('CACHED_REPO_QUERY', `cannot resolve the cached repository ${join(updatesDir, 'repo')}: ${(error as Error).message}`);
  }
}

/** How many files one `rpm -qp` reads: the repository only grows, a command line does not. */
const QUERY_BATCH = 256;

/** One `Obsoletes:` entry of a package: a name and, unless `flags` is empty, a version range. */
interface Obsolete {
  readonly name: string;
  /** As rpm's depflags format prints them: `<`, `<=`, `=`, `>=`, `>`, or empty. */
  readonly flags: string;
  readonly evr: string;
}

/** A package file of the cached repository, as its header describes it. */
export interface CachedPackage {
  readonly name: string;
  readonly epoch: string;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
  /** The key ID (16 lowercase hex digits) of the header signature the receiver verified. */
  readonly signerKeyId: string | undefined;
  readonly obsoletes: readonly Obsolete[];
}

// One line per file: the header signature's key ID as rpm describes it (RSA or EdDSA), then each
// Obsoletes entry as three tab-separated fields.
const CACHED_QUERY_FORMAT =
  '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{RSAHEADER:pgpsig}|%{DSAHEADER:pgpsig}[\\t%{OBSOLETENAME}\\t%{OBSOLETEFLAGS:depflags}\\t%{OBSOLETEVERSION}]\\n';

/**
 * The packages of a published generation, read from the headers of the files the receiver
 * verified and published (the same files dom0's createrepo_c indexed for dnf). Read from the
 * files, not through dnf, so no metadata cache can hide a package that just arrived.
 */
export async function readCachedRepo(repoDir: string | undefined): Promise<CachedPackage[]> {
  if (repoDir === undefined) return [];
  // rpm globs and macro-expands file arguments: the files are named relative to repoDir (their
  // names are the receiver's checked NEVRA names), so no character of UPDATES_DIR reaches rpm
  let files: string[];
  try {
    files = readdirSync(repoDir).filter((f) => f.endsWith('.rpm'));
  } catch (error) {
    throw new InstallError('CACHED_REPO_QUERY', `cannot list the cached repository ${repoDir}: ${(error as Error).message}`);
  }
  const packages: CachedPackage[] = [];
  for (let i = 0; i < files.length; i += QUERY_BATCH) {
    const batch = files.slice(i, i + QUERY_BATCH);
    // Signatures were checked by the receiver against the pinned keys; this rpm's own keyring is not dom0's.
    const result = await execa('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', CACHED_QUERY_FORMAT, ...batch.map((f) => `./${f}`)], {
      cwd: repoDir,
      reject: false,
      stdin: 'ignore',
    });
    if (result.failed) {
      const reason = (result.stderr.trim().split('\n')[0] ?? '') || (result.shortMessage ?? '');
      throw new InstallError('CACHED_REPO_QUERY', `cannot read the cached repository's package names: ${reason}`);
    }
    const lines = result.stdout.split('\n');
    if (lines.at(-1) === '') lines.pop();
    // One line per file: a name holding a newline would otherwise read as two packages.
    if (lines.length !== batch.length) {
      throw new InstallError('CACHED_REPO_BAD_NAME', `rpm read ${lines.length} names from ${batch.length} packages in the cached repository`);
    }
    for (const line of lines) packages.push(parseCachedLine(line));
  }
  return packages;
}

export function parseCachedLine(line: string): CachedPackage {
  const [name = '', epoch = '', version = '', release = '', arch = '', signature = '', ...rest] = line.split('\t');
  if (!PLAIN_NAME.test(name)) {
    throw new InstallError(
      'CACHED_REPO_BAD_NAME',
      `the cached repository holds a package whose name cannot be withheld exactly: "${sanitizeForTerminal(name, 300)}"`,
    );
  }
  // a tab inside an Obsoletes entry would shift every field after it
  if (rest.length % 3 !== 0) {
    throw new InstallError('CACHED_REPO_BAD_NAME', `the cached repository's ${name} has an Obsoletes entry rpm cannot print as one field`);
  }
  const obsoletes: Obsolete[] = [];
  for (let i = 0; i < rest.length; i += 3) obsoletes.push({ name: rest[i] ?? '', flags: rest[i + 1] ?? '', evr: rest[i + 2] ?? '' });
  // rpm 4.18 prints the 16-digit key ID; later versions may print the whole fingerprint, whose
  // last 16 digits are the key ID of a v4 key
  const signerKeyId = /Key ID ([0-9a-fA-F]{16,64})(?:\||$)/.exec(signature)?.[1]?.slice(-16).toLowerCase();
  return { name, epoch, version, release, arch, signerKeyId, obsoletes };
}

/** The distinct names of cached packages, sorted. */
export function cachedRepoNames(packages: readonly CachedPackage[]): string[] {
  return [...new Set(packages.map((p) => p.name))].sort();
}

/** Names of the packages in a published generation (see readCachedRepo). */
export async function listCachedRepoNames(repoDir: string | undefined): Promise<string[]> {
  return cachedRepoNames(await readCachedRepo(repoDir));
}

/** How dnf reads specs in dom0: against the installed packages and the cached repository's. */
export function dom0PackageSpecs(cached: readonly CachedPackage[], installed: readonly InstalledPackage[]): PackageSpecs {
  return new PackageSpecs(installed.map(installedBuild), cached);
}

/** The names dnf must not see: in the cached repository, not installed, not requested. */
export function namesToWithhold(
  cached: readonly CachedPackage[],
  installed: readonly InstalledPackage[],
  requested: readonly string[],
  specs: PackageSpecs = dom0PackageSpecs(cached, installed),
): string[] {
  const present = new Set(installed.map((p) => p.name));
  return cachedRepoNames(cached).filter((name) => !present.has(name) && !specs.selects(requested, name));
}

/**
 * What to do when an update needs a withheld name as a new dependency: name it in the same run as
 * the package that needs it. Naming it alone first can fail (a split package: the new one takes
 * files the installed old one still owns), and an upgrade afterwards never installs a new name.
 * `needing`: the packages known to need it (the requested or missed updates, all of them, so the
 * command is whole), else a placeholder.
 */
export function nameTogetherHint(needing: readonly string[]): string {
  const pkgs = needing.length === 0 ? 'PKG' : needing.join(' ');
  // a validly signed but unrequested package is what an extraneous dependency looks like too:
  // accepting it is the user's call, and so is leaving the update out
  const exclude = needing.length === 0 ? '--exclude=PKG' : needing.map((name) => `--exclude=${name}`).join(' ');
  return `if you expect it (a dependency your distribution added), name it in the same run as the package that needs it, \`dom0-update ${pkgs} NAME\`; if not, \`${exclude}\` leaves the update out and \`dom0-update --clean\` drops it from the cache`;
}

/**
 * dnf's exact pattern for every cached build of a withheld name. Not the bare name: dnf reads an
 * exclude pattern as a full NEVRA, then as name.arch, then as a name, and takes the first reading
 * that matches any package, so a package named `dom0-tool.noarch` (or `hello-2.0-1.noarch`)
 * would be excluded under another package's reading of its name and slip through itself. A
 * pattern with the epoch parses as exactly one build whatever the name holds.
 */
export function withheldBuildSpecs(cached: readonly CachedPackage[], withheldNames: readonly string[]): string[] {
  const names = new Set(withheldNames);
  return cached.filter((pkg) => names.has(pkg.name)).map((pkg) => exactBuildSpec(pkg, 'is neither installed nor requested'));
}

/** A build of an installed name that would replace another package through Obsoletes. */
export interface ObsoletingBuild {
  readonly package: CachedPackage;
  /** dnf's exact pattern for this one build: `name-epoch:version-release.arch`. */
  readonly spec: string;
  /** What its Obsoletes would take away: `the installed name.arch [epoch:]version-release`, `the requested name`. */
  readonly replaces: readonly string[];
}

/** Versions, releases and arches dnf takes literally in a pattern (no glob characters). */
const PLAIN_EVR_PART = /^[A-Za-z0-9._+~^]{1,255}$/;

/**
 * Builds of installed names, or of requested new names, that the command line does not select,
 * whose Obsoletes match an installed package of another name, or any version of a name the user
 * asked for. dnf applies the Obsoletes
 * of an upgrade even with obsoletes=False (that only stops it from pulling in new obsoleting
 * names), so such a build would remove the other package as a side effect, or take the place of
 * the package the user asked for; each is withheld with an exact pattern of that build alone,
 * which leaves dnf free to take another build of the same name. Names neither installed nor
 * requested are withheld whole already (namesToWithhold); a requested new name keeps its other
 * builds out the same way (`python3-3.13` does not let a cached python3 3.14 replace dom0-hello
 * through a later upgrade's obsoletes handling). Consent is per build (`python3-3.13` is
 * no consent for a cached 3.14 that obsoletes something, which dnf installs when a dependency
 * needs it), and only a spec without glob characters counts: a removal needs consent more exact
 * than `t-*`.
 */
export function obsoletingBuilds(
  cached: readonly CachedPackage[],
  installed: readonly InstalledPackage[],
  requested: readonly string[],
  specs: PackageSpecs = dom0PackageSpecs(cached, installed),
): ObsoletingBuild[] {
  const present = new Set(installed.map((p) => p.name));
  const exact = requested.filter((spec) => !isGlob(spec));
  const builds: ObsoletingBuild[] = [];
  for (const pkg of cached) {
    const installedName = present.has(pkg.name);
    // a name neither installed nor requested is withheld whole (namesToWithhold)
    if (!installedName && !specs.selects(requested, pkg.name)) continue;
    // a new name comes in by the user's choice, glob or not; an installed name's removal needs an exact spec
    if (specs.selectsBuild(installedName ? exact : requested, pkg)) continue;
    const others = pkg.obsoletes.filter((o) => o.name !== pkg.name);
    const removed = installedObsoletedBy(pkg, installed);
    // a requested name no package has yet counts too (dnf may find it by a Provides): withholding more is safe
    const replaced = [...new Set(others.map((o) => o.name))]
      .filter((name) => specs.selects(requested, name) || requested.some((spec) => matchesAsName(spec, name)))
      .map((name) => `the requested ${sanitizeForTerminal(name, 300)}`);
    const replaces = [...removed, ...replaced];
    if (replaces.length > 0) builds.push({ package: pkg, spec: exactBuildSpec(pkg, 'obsoletes an installed package'), replaces });
  }
  return builds;
}

/** The installed packages of other names that `pkg`'s Obsoletes match: `the installed name.arch [epoch:]version-release`. */
function installedObsoletedBy(pkg: CachedPackage, installed: readonly InstalledPackage[]): string[] {
  const others = pkg.obsoletes.filter((o) => o.name !== pkg.name);
  return installed
    .filter((victim) => others.some((o) => o.name === victim.name && inDependencyRange(victim.evr, o.flags, o.evr)))
    .map((victim) => `the installed ${victim.name}.${victim.arch} ${displayEvr(victim.evr)}`);
}

/**
 * Builds of withheld names (neither installed nor requested) whose Obsoletes match an installed
 * package: most likely a package renamed upstream. They stay withheld like any new name (only the
 * user can let a new name into dom0), but the report says what they would replace, so the user can
 * name one knowingly.
 */
export function renamingBuilds(cached: readonly CachedPackage[], installed: readonly InstalledPackage[], withheldNames: readonly string[]): RenamingBuild[] {
  const names = new Set(withheldNames);
  return cached
    .filter((pkg) => names.has(pkg.name))
    .map((pkg) => ({ package: pkg, replaces: installedObsoletedBy(pkg, installed) }))
    .filter((build) => build.replaces.length > 0);
}

/** A build of a withheld name whose Obsoletes match installed packages of other names. */
export interface RenamingBuild {
  readonly package: CachedPackage;
  /** `the installed name.arch [epoch:]version-release` for each. */
  readonly replaces: readonly string[];
}

/** A build of an installed name older than what is installed: offered to dnf, it would be a rollback. */
export interface OlderBuild {
  readonly package: CachedPackage;
  /** dnf's exact pattern for this one build: `name-epoch:version-release.arch`. */
  readonly spec: string;
  /** The newest installed version it is older than: `name.arch [epoch:]version-release`. */
  readonly installed: string;
}

/**
 * Builds older than the newest installed version of their name. dnf never downgrades on an
 * upgrade, but it does to satisfy a dependency: a signed package sent along with `Requires:
 * hello = 1.0` (or an old build of an installed library) would roll hello back as a side effect
 * of installing or upgrading something else. Only `--action=downgrade` with a spec that selects
 * that build lets an older build in. A build that is itself installed (an install-only package
 * kept in several versions) is left alone: it changes nothing.
 */
export function olderBuilds(
  cached: readonly CachedPackage[],
  installed: readonly InstalledPackage[],
  action: Action,
  requested: readonly string[],
  specs: PackageSpecs = dom0PackageSpecs(cached, installed),
): OlderBuild[] {
  const builds: OlderBuild[] = [];
  for (const pkg of cached) {
    if (action === 'downgrade' && specs.selectsBuild(requested, pkg)) continue;
    const evr = evrOf(pkg);
    if (installed.some((p) => p.name === pkg.name && p.arch === pkg.arch && compareEvr(p.evr, evr) === 0)) continue;
    // any arch: a noarch build older than the installed x86_64 one is a rollback too
    const newest = newestInstalled(installed, pkg.name, undefined);
    if (newest === undefined || compareEvr(newest.evr, evr) <= 0) continue;
    builds.push({ package: pkg, spec: exactBuildSpec(pkg, 'is older than its installed version'), installed: `${newest.name}.${newest.arch} ${displayEvr(newest.evr)}` });
  }
  return builds;
}

/** A build of an installed name in an arch none of its installed instances has. */
export interface NewArchBuild {
  readonly package: CachedPackage;
  /** dnf's exact pattern for this one build: `name-epoch:version-release.arch`. */
  readonly spec: string;
  /** The arches the name is installed in. */
  readonly installedArches: readonly string[];
}

/**
 * Builds of an installed name in another arch (dom0-lib.i686 beside the installed
 * dom0-lib.x86_64). dnf installs such a build beside the installed one, as a new package, to
 * satisfy a dependency (a signed update that requires what only the i686 build provides), so it
 * is withheld like a new name. A change to noarch, or from noarch to the machine's own arch
 * (`machineArch`, what dnf picks), is an upgrade of the same package and stays offered; from
 * noarch to another arch it is not: dnf upgrades the noarch package to one arch and can add an
 * i686 build beside it as a dependency. Consent is a spec that selects this build and no build of
 * its name in another arch (`dom0-lib.i686`; not `dom0-lib` or `dom0-lib-2.0-1`, which name the
 * x86_64 builds too).
 */
export function newArchBuilds(
  cached: readonly CachedPackage[],
  installed: readonly InstalledPackage[],
  requested: readonly string[],
  machineArch: string,
  specs: PackageSpecs = dom0PackageSpecs(cached, installed),
): NewArchBuild[] {
  const builds: NewArchBuild[] = [];
  for (const pkg of cached) {
    const instances = installed.filter((p) => p.name === pkg.name);
    const arches = [...new Set(instances.map((p) => p.arch))].sort();
    // a name not installed is withheld whole, or let in whole by the user (namesToWithhold)
    if (arches.length === 0 || arches.includes(pkg.arch)) continue;
    if (pkg.arch === 'noarch' || (arches.includes('noarch') && pkg.arch === machineArch)) continue;
    // the user's choice of this arch: a spec that selects no build of the name in another arch
    const otherArches = [...instances.map(installedBuild), ...cached.filter((other) => other.name === pkg.name && other.arch !== pkg.arch)];
    const consent = requested.some((spec) => specs.selectsBuild([spec], pkg) && !otherArches.some((other) => specs.selectsBuild([spec], other)));
    if (consent) continue;
    builds.push({ package: pkg, spec: exactBuildSpec(pkg, 'is a new arch of an installed name'), installedArches: arches });
  }
  return builds;
}

function exactBuildSpec(pkg: CachedPackage, why: string): string {
  if (!/^\d{1,10}$/.test(pkg.epoch) || ![pkg.version, pkg.release, pkg.arch].every((part) => PLAIN_EVR_PART.test(part))) {
    throw new InstallError(
      'CACHED_REPO_BAD_NAME',
      `the cached repository's ${pkg.name} ${why}, and its version cannot be withheld exactly: "${sanitizeForTerminal(`${evrOf(pkg)}.${pkg.arch}`, 300)}"`,
    );
  }
  return buildSpec(pkg.name, evrOf(pkg), pkg.arch);
}

/**
 * dnf's exact pattern for one build, `name-epoch:version-release.arch`: the epoch always, 0 too
 * (without one dnf matches the version-release in every epoch, so withholding an old 0:1.0-1
 * would also hide a genuine 1:1.0-1). `evr` is `epoch:version-release`.
 */
function buildSpec(name: string, evr: string, arch: string): string {
  return `${name}-${evr}.${arch}`;
}

/** A cached build whose signer is no longer pinned. */
export interface UnpinnedBuild {
  readonly package: CachedPackage;
  /** dnf's exact pattern for this one build: `name-epoch:version-release.arch`. */
  readonly spec: string;
  readonly keyId: string;
}

/**
 * Builds signed by a key that KEYRING no longer pins. The receiver verified each package against
 * the keys pinned when it arrived, and the published repository keeps it; dom0's rpmdb may still
 * hold the old key, so dnf alone would install it. Removing a key from KEYRING must withdraw
 * trust in what it signed, so these are withheld too.
 */
export function unpinnedBuilds(cached: readonly CachedPackage[], pinnedKeyIds: ReadonlySet<string>): UnpinnedBuild[] {
  return cached
    .filter((pkg) => pkg.signerKeyId === undefined || !pinnedKeyIds.has(pkg.signerKeyId))
    .map((pkg) => ({ package: pkg, spec: exactBuildSpec(pkg, 'is signed by a key no longer pinned'), keyId: pkg.signerKeyId ?? 'none' }));
}

/** A cached build of an arch rpm does not know: dnf's query would see it, its solver refuse it. */
export interface OddArchBuild {
  readonly package: CachedPackage;
  /** dnf's exact pattern for this one build: `name-epoch:version-release.arch`. */
  readonly spec: string;
}

/**
 * Builds whose arch rpm does not know (a signed header can say `13`). dnf's query sees them, so
 * `python3.13` would read as python3 of arch 13 (dnf's name.arch form) where dom0 reads the name
 * python3.13; withheld, no such build takes part in reading a command-line name, for dnf or for
 * dom0 (an exclusion is read before any build is withheld, against them too: cache-plan.ts).
 */
export function oddArchBuilds(cached: readonly CachedPackage[]): OddArchBuild[] {
  return cached.filter((pkg) => !isKnownArch(pkg.arch)).map((pkg) => ({ package: pkg, spec: exactBuildSpec(pkg, 'has an arch rpm does not know') }));
}

/** A cached build of an arch rpm knows but this machine's dnf never installs (aarch64 on x86_64). */
export interface ForeignArchBuild {
  readonly package: CachedPackage;
  /** dnf's exact pattern for this one build: `name-epoch:version-release.arch`. */
  readonly spec: string;
}

/**
 * Builds dnf would never install here: withheld so that none is offered, counted as an update or
 * called a missed one (dnf's solver refuses them silently), and none is said to be a new arch that
 * naming would let in. They still take part in reading a spec, as they do for dnf.
 */
export function foreignArchBuilds(cached: readonly CachedPackage[], machineArch: string): ForeignArchBuild[] {
  return cached
    .filter((pkg) => isForeignArch(machineArch, pkg.arch))
    .map((pkg) => ({ package: pkg, spec: exactBuildSpec(pkg, `has an arch (${pkg.arch}) that ${machineArch} does not run`) }));
}

/**
 * Packages dnf installed although dom0 withheld their exact build: a check after the fact, in case
 * dnf reads an exclude pattern in a way not foreseen here. `excluded` are the exact patterns
 * (`name-epoch:version-release.arch`) dom0 gave dnf.
 */
export function withheldButInstalled(before: readonly InstalledPackage[], after: readonly InstalledPackage[], excluded: readonly string[]): InstalledPackage[] {
  const withheld = new Set(excluded);
  const old = new Set(before.map((p) => p.instance));
  return after.filter((p) => !old.has(p.instance) && withheld.has(buildSpec(p.name, p.evr, p.arch)));
}
