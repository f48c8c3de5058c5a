/** Whether a package spec is a glob, as dnf reads it (fnmatch): `*`, `?` or a `[...]` class. */
export function isGlob(spec: string): boolean {
  return /[*?[]/.test(spec);
}

const escapeForRegExp = (ch: string): string => (/[.+^$()|{}\\[\]*?/-]/.test(ch) ? `\\${ch}` : ch);

/**
 * A `[...]` class at `spec[start]` as a regular expression, and the index after it; undefined when
 * the `[` opens nothing (no closing `]`), so it stands for itself, as in fnmatch. A `]` right after
 * `[` or `[!` is literal; `!` or `^` first negates; a range written backwards matches nothing.
 */
function bracketClass(spec: string, start: number): { readonly source: string; readonly end: number } | undefined {
  let i = start + 1;
  const negated = spec[i] === '!' || spec[i] === '^';
  if (negated) i++;
  const first = i;
  while (i < spec.length && (spec[i] !== ']' || i === first)) i++;
  if (i >= spec.length) return undefined;
  // specs are ASCII (the command line's pattern), so one UTF-16 unit is one character
  const members = spec.slice(first, i);
  let source = '';
  for (let m = 0; m < members.length; m++) {
    const [from, dash, to] = [members.charAt(m), members[m + 1], members[m + 2]];
    if (dash === '-' && to !== undefined) {
      if (from > to) return { source: negated ? '[^]' : '(?!)', end: i + 1 };
      source += `${escapeForRegExp(from)}-${escapeForRegExp(to)}`;
      m += 2;
    } else {
      source += escapeForRegExp(from);
    }
  }
  return { source: `[${negated ? '^' : ''}${source}]`, end: i + 1 };
}

function globToRegExp(spec: string): RegExp {
  let source = '';
  for (let i = 0; i < spec.length; ) {
    const ch = spec[i] ?? '';
    const bracket = ch === '[' ? bracketClass(spec, i) : undefined;
    if (bracket !== undefined) {
      source += bracket.source;
      i = bracket.end;
      continue;
    }
    if (ch === '\\') {
      // fnmatch's escape (a dnf.conf exclusion can hold one): the next character stands for itself;
      // a pattern that ends in it matches nothing
      const next = spec[i + 1];
      source += next === undefined ? '(?!)' : escapeForRegExp(next);
      i += 2;
      continue;
    }
    source += ch === '*' ? '.*' : ch === '?' ? '.' : escapeForRegExp(ch);
    i++;
  }
  return new RegExp(`^${source}$`);
}

/** One build as dnf's query sees it: an installed package or one of the cached repository. */
export interface PackageBuild {
  readonly name: string;
  /** digits; `0` when the header has none */
  readonly epoch: string;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
}

/** A spec read in one of dnf's forms; a field left undefined matches any value. */
interface SpecReading {
  readonly name: string;
  readonly epoch?: string | undefined;
  readonly version?: string | undefined;
  readonly release?: string | undefined;
  readonly arch?: string | undefined;
}

// libdnf's NEVRA forms (nevra.cpp): a name holds no `:(/=<>` or space, a version or release no `-`
// either, an arch no `.` either. The name is the longest that leaves a match, as in POSIX regexes.
const NAME = '([^:(/=<> ]+)';
const EPOCH = '(?:([0-9]+):)?';
const VERSION = '([^-:(/=<> ]+)';
const ARCH = '([^-:.(/=<> ]+)';
type Form = 'nevra' | 'na' | 'name' | 'nevr' | 'nev';
const FORM_PATTERNS: Readonly<Record<Form, RegExp>> = {
  nevra: new RegExp(`^${NAME}-${EPOCH}${VERSION}-${VERSION}\\.${ARCH}$`),
  na: new RegExp(`^${NAME}\\.${ARCH}$`),
  name: new RegExp(`^${NAME}$`),
  nevr: new RegExp(`^${NAME}-${EPOCH}${VERSION}-${VERSION}$`),
  nev: new RegExp(`^${NAME}-${EPOCH}${VERSION}$`),
};
/** The order dnf tries them in (HY_FORMS_MOST_SPEC) for install, upgrade and the like, and for excludes. */
const FORMS: readonly Form[] = ['nevra', 'na', 'name', 'nevr', 'nev'];

function readSpec(spec: string, form: Form): SpecReading | undefined {
  const m = FORM_PATTERNS[form].exec(spec);
  if (m === null) return undefined;
  switch (form) {
    case 'nevra':
      return { name: m[1] ?? '', epoch: m[2], version: m[3], release: m[4], arch: m[5] };
    case 'nevr':
      return { name: m[1] ?? '', epoch: m[2], version: m[3], release: m[4] };
    case 'nev':
      return { name: m[1] ?? '', epoch: m[2], version: m[3] };
    case 'na':
      return { name: m[1] ?? '', arch: m[2] };
    case 'name':
      return { name: m[1] ?? '' };
  }
}

/**
 * The arches rpm knows. dnf's query does see a build of another arch (a signed header can say
 * anything; only the solver refuses it), so dom0 withholds such builds from dnf by their exact
 * build (withheld.ts) and they take no part in reading a spec.
 */
const KNOWN_ARCHES: ReadonlySet<string> = new Set([
  'noarch', 'x86_64', 'x86_64_v2', 'x86_64_v3', 'x86_64_v4', 'amd64', 'ia32e', 'em64t',
  'i386', 'i486', 'i586', 'i686', 'athlon', 'geode', 'pentium3', 'pentium4',
  'aarch64', 'armv5tel', 'armv6l', 'armv6hl', 'armv7l', 'armv7hl', 'armv7hnl', 'armv8l', 'armv8hl',
  'ppc', 'ppc64', 'ppc64le', 'ppc64p7', 's390', 's390x', 'riscv64', 'loongarch64',
  'mips', 'mipsel', 'mips64', 'mips64el', 'sparc', 'sparcv9', 'sparc64', 'alpha', 'ia64', 'sh4',
]);

export function isKnownArch(arch: string): boolean {
  return KNOWN_ARCHES.has(arch);
}

/**
 * The arches a machine's dnf installs, as libsolv's arch policy has them in Fedora's build of it
 * (poolarch.c, FEDORA: athlon too); dom0 is x86_64. dnf's query sees a build of any other arch,
 * but its solver never installs it.
 */
const RUNS_ON: ReadonlyMap<string, ReadonlySet<string>> = new Map([['x86_64', new Set(['noarch', 'x86_64', 'athlon', 'i686', 'i586', 'i486', 'i386'])]]);

/**
 * Whether `arch` is one rpm knows but dnf on a `machineArch` machine never installs (aarch64 on
 * x86_64; on a machine not listed, none is). An arch rpm does not know is not foreign but odd.
 */
export function isForeignArch(machineArch: string, arch: string): boolean {
  return isKnownArch(arch) && !(RUNS_ON.get(machineArch)?.has(arch) ?? true);
}

/** One field: a glob as fnmatch reads it, otherwise the same string. */
function fieldMatches(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined) return true;
  return isGlob(pattern) ? globToRegExp(pattern).test(value) : pattern === value;
}

/** Whether the spec read whole as a name (dnf's NAME form), glob or not, matches `name`. */
export function matchesAsName(spec: string, name: string): boolean {
  return fieldMatches(spec, name);
}

function readingMatches(reading: SpecReading, build: PackageBuild): boolean {
  return (
    fieldMatches(reading.name, build.name) &&
    (reading.epoch === undefined || Number(reading.epoch) === Number(build.epoch)) &&
    fieldMatches(reading.version, build.version) &&
    fieldMatches(reading.release, build.release) &&
    fieldMatches(reading.arch, build.arch)
  );
}

function sameBuild(a: PackageBuild, b: PackageBuild): boolean {
  return a.name === b.name && Number(a.epoch) === Number(b.epoch) && a.version === b.version && a.release === b.release && a.arch === b.arch;
}

/** `name-[epoch:]version-release.arch`, as rpm and dnf print a build. */
export function nevraString(build: PackageBuild): string {
  return `${build.name}-${Number(build.epoch) === 0 ? '' : `${build.epoch}:`}${build.version}-${build.release}.${build.arch}`;
}

/**
 * Package specs read as dnf reads them against the packages it sees (dom0's installed ones and
 * the cached repository's): the first of its forms that matches any package decides, so
 * `rt-a.b` names the package `rt-a.b` (`b` is no arch) and never `rt-a`, and `hello-2.0-1` names
 * `hello` only when a build of hello is 2.0-1. Last, as dnf does, the whole spec is matched against
 * each package's `name-[epoch:]version-release.arch`. A spec that matches nothing names nothing
 * (dnf would say "No match", or find it by a Provides, which lets no new name in: see withheld.ts).
 */
export class PackageSpecs {
  readonly #builds: readonly PackageBuild[];
  readonly #cache = new Map<string, readonly PackageBuild[]>();

  /**
   * `installed` all count (dnf sees the rpmdb whole); `available` is what dnf may see of the cached
   * repository (not the builds withheld by exact build), of which builds of an arch rpm knows, or
   * with `everyArch` every build: dnf reads an exclusion before any build is withheld.
   */
  constructor(installed: readonly PackageBuild[], available: readonly PackageBuild[], everyArch = false) {
    this.#builds = [...installed, ...(everyArch ? available : available.filter((build) => KNOWN_ARCHES.has(build.arch)))];
  }

  /** The builds `spec` selects. */
  #buildsOf(spec: string): readonly PackageBuild[] {
    let builds = this.#cache.get(spec);
    if (builds === undefined) {
      builds = [];
      for (const form of FORMS) {
        const reading = readSpec(spec, form);
        if (reading === undefined) continue;
        builds = this.#builds.filter((build) => readingMatches(reading, build));
        if (builds.length > 0) break;
      }
      // dnf's last try: the whole spec against each package's full name as libsolv prints it
      // (name-[epoch:]version-release.arch, no epoch when 0), so `kernel*6.12*` selects too
      if (builds.length === 0) builds = this.#builds.filter((build) => fieldMatches(spec, nevraString(build)));
      this.#cache.set(spec, builds);
    }
    return builds;
  }

  /** The names of the packages `spec` selects. */
  namesOf(spec: string): ReadonlySet<string> {
    return new Set(this.#buildsOf(spec).map((build) => build.name));
  }

  /** Whether one of `specs` selects the name (any build of it). */
  selects(specs: readonly string[], name: string): boolean {
    return specs.some((spec) => this.#buildsOf(spec).some((build) => build.name === name));
  }

  /**
   * Whether one of `specs` selects this very build: `python3-3.13` selects python3 3.13, not a
   * cached 3.14 of the same name, which dnf takes only if something else needs it.
   */
  selectsBuild(specs: readonly string[], build: PackageBuild): boolean {
    return specs.some((spec) => this.#buildsOf(spec).some((selected) => sameBuild(selected, build)));
  }
}
