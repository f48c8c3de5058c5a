/**
 * The command line, parsed once into a value that only holds valid combinations.
 * Our own options are an allow-list; other options must be on the protocol's dnf-option
 * allow-list and go to the UpdateVM's dnf (DOM0_DNF_OPTIONS: the few dom0's dnf also receives).
 */
import { DNF_OPTION_RULES, DNF_SETOPT_KEYS, PACKAGE_SPEC_PATTERN, REPO_ID_PATTERN } from '@dom0-updates/protocol';
import { CONFIG_KEYS, type ConfigKey, type RawSettings } from './config.ts';
import { printable, UsageError } from './errors.ts';

const ACTIONS = ['upgrade', 'install', 'reinstall', 'downgrade'] as const;
export type Action = (typeof ACTIONS)[number];

export interface RunOptions {
  readonly action: Action;
  readonly checkOnly: boolean;
  readonly packages: readonly string[];
  readonly enableRepos: readonly string[];
  readonly disableRepos: readonly string[];
  readonly clean: boolean;
  readonly assumeYes: boolean;
  readonly downloadOnly: boolean;
  readonly silent: boolean;
  readonly jsonProgress: boolean;
  /** Passed to the UpdateVM's dnf through request.json. */
  readonly dnfOptions: readonly string[];
  /** The allow-listed subset of dnfOptions that dom0's dnf also receives. */
  readonly dom0DnfOptions: readonly string[];
  readonly configFile: string | undefined;
  /** Config keys set by flags (the highest-precedence layer). */
  readonly overrides: RawSettings;
}

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly options: RunOptions };

/**
 * dnf options that cannot weaken dom0's checks, so dom0's install step honours them too.
 * The rest (for example --refresh, or a --setopt other than an exclusion) reach the UpdateVM's dnf only.
 */
export const DOM0_DNF_OPTIONS: ReadonlySet<string> = new Set([
  '--best',
  '--nobest',
  '--allowerasing',
  '--skip-broken',
  '--exclude',
  '--verbose',
]);

/**
 * Unscoped --setopt settings that only take packages away from dnf, so dom0's install step honours
 * them too: the UpdateVM could ignore them, dom0 cannot. (`includepkgs` is not among them: at the
 * top level dnf would apply it to the installed packages as well.)
 */
const DOM0_DNF_SETOPT = /^--setopt=(?:exclude|excludepkgs)=(.*)$/s;

/**
 * An unscoped exclusion setting as one --exclude per entry for dom0's dnf: dnf appends --exclude,
 * while a --setopt list with an empty entry (`excludepkgs=` or `=,x`) clears every exclusion its
 * dnf.conf had.
 */
function dom0Exclusions(option: string): string[] {
  const value = DOM0_DNF_SETOPT.exec(option)?.[1];
  // dnf splits a list setting at commas and spaces
  return value === undefined ? [] : value.split(/[\s,]+/).filter((spec) => spec !== '').map((spec) => `--exclude=${spec}`);
}

/** Flags that set config keys: --updatevm, --updates-dir, --keyring (repeatable), ... */
const CONFIG_FLAGS: ReadonlyMap<string, ConfigKey> = new Map(
  CONFIG_KEYS.map((key) => [`--${key.toLowerCase().replaceAll('_', '-')}`, key]),
);

/** dom0-update's own options that take one value or none; config flags are single-valued too. */
const SINGLE_OPTIONS: ReadonlySet<string> = new Set([
  '-y',
  '--assumeyes',
  '--clean',
  '--check-only',
  '--downloadonly',
  '--silent',
  '--json-progress',
  '--action',
  '--config',
]);
/** Options that add to a list each time. */
const REPEATABLE: ReadonlySet<string> = new Set(['--keyring', '--enablerepo', '--disablerepo']);
const ALIASES: ReadonlyMap<string, string> = new Map([['-y', '--assumeyes']]);

/** Flags without a value, and the field of Collected each one sets. */
const FLAGS: ReadonlyMap<string, BooleanField> = new Map([
  ['-h', 'help'],
  ['--help', 'help'],
  ['--version', 'version'],
  ['--clean', 'clean'],
  ['--check-only', 'checkOnly'],
  ['-y', 'assumeYes'],
  ['--assumeyes', 'assumeYes'],
  ['--downloadonly', 'downloadOnly'],
  ['--silent', 'silent'],
  ['--json-progress', 'jsonProgress'],
]);

type BooleanField = 'help' | 'version' | 'clean' | 'checkOnly' | 'assumeYes' | 'downloadOnly' | 'silent' | 'jsonProgress';

/** What the arguments say, one by one, before their combination is checked. */
type Collected = Record<BooleanField, boolean> & {
  action: Action | undefined;
  configFile: string | undefined;
  /** A dnf command word given as the first name (before any `--`), refused once the options are known. */
  commandWord: string | undefined;
  readonly packages: string[];
  readonly enableRepos: string[];
  readonly disableRepos: string[];
  readonly dnfOptions: string[];
  readonly dom0DnfOptions: string[];
  readonly overrides: RawSettings;
};

export function parseArgs(argv: readonly string[]): Command {
  const given = collect(argv);
  if (given.help) return { kind: 'help' };
  if (given.version) return { kind: 'version' };

  const { action, checkOnly, downloadOnly, packages } = given;
  if (checkOnly) {
    if (action !== undefined) throw new UsageError('USAGE_CONFLICT', '--check-only cannot be combined with --action');
    if (downloadOnly) throw new UsageError('USAGE_CONFLICT', '--check-only cannot be combined with --downloadonly');
  }
  // dnf refuses the pair; found here, before the lock and before the UpdateVM is asked
  if (given.dnfOptions.includes('--best') && given.dnfOptions.includes('--nobest')) {
    throw new UsageError('USAGE_CONFLICT', '--best cannot be combined with --nobest');
  }
  // --allowerasing lets dom0's dnf remove installed packages for any dependency reason (a signed
  // build's Conflicts, a Provides an upgrade dropped), which nothing withheld can foresee: only
  // with dnf's transaction summary in front of the user, who answers its prompt
  if (given.dnfOptions.includes('--allowerasing') && given.assumeYes && !checkOnly && !downloadOnly) {
    throw new UsageError('USAGE_CONFLICT', '--allowerasing cannot be combined with -y/--assumeyes: dom0\'s dnf must show what it would remove and ask');
  }
  if (given.commandWord !== undefined) refuseCommandWord(given.commandWord, checkOnly);
  const resolved: Action = action ?? (packages.length > 0 ? 'install' : 'upgrade');
  if (resolved !== 'upgrade' && packages.length === 0 && !checkOnly) {
    throw new UsageError('USAGE_NO_PACKAGES', `--action=${resolved} needs at least one package name`);
  }
  return {
    kind: 'run',
    options: {
      action: resolved,
      checkOnly,
      packages,
      enableRepos: given.enableRepos,
      disableRepos: given.disableRepos,
      clean: given.clean,
      assumeYes: given.assumeYes,
      downloadOnly,
      silent: given.silent,
      jsonProgress: given.jsonProgress,
      dnfOptions: given.dnfOptions,
      dom0DnfOptions: given.dom0DnfOptions,
      configFile: given.configFile,
      overrides: given.overrides,
    },
  };
}

function collect(argv: readonly string[]): Collected {
  const given: Collected = {
    help: false,
    version: false,
    clean: false,
    checkOnly: false,
    assumeYes: false,
    downloadOnly: false,
    silent: false,
    jsonProgress: false,
    action: undefined,
    configFile: undefined,
    commandWord: undefined,
    packages: [],
    enableRepos: [],
    disableRepos: [],
    dnfOptions: [],
    dom0DnfOptions: [],
    overrides: {},
  };
  let onlyNames = false;
  const seen = new Set<string>();

  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (onlyNames || !arg.startsWith('-')) {
      // after `--` every word is a name, as the README says
      if (!onlyNames && given.packages.length === 0 && DNF_COMMAND_WORDS.has(arg)) given.commandWord = arg;
      given.packages.push(parsePackage(arg));
      continue;
    }
    if (arg === '--') {
      onlyNames = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    // Options that take a value accept `--opt=value` and `--opt value`; only --releasever takes an
    // empty one (it unsets RELEASEVER, overriding the file's value).
    const value = (): string => {
      let v = inline;
      if (v === undefined) {
        v = argv[i + 1];
        if (v === undefined) throw new UsageError('USAGE_MISSING_VALUE', `${name} needs a value`);
        i += 1;
      }
      if (v === '' && name !== '--releasever') throw new UsageError('USAGE_BAD_VALUE', `${name} needs a value, not an empty one`);
      return v;
    };
    // A second value for a single-valued option would silently win; say so instead.
    if (!REPEATABLE.has(name) && (CONFIG_FLAGS.has(name) || SINGLE_OPTIONS.has(name))) {
      const canonical = ALIASES.get(name) ?? name;
      if (seen.has(canonical)) throw new UsageError('USAGE_DUPLICATE', `${canonical} given twice`);
      seen.add(canonical);
    }
    const field = FLAGS.get(name);
    if (field !== undefined) {
      if (inline !== undefined) throw new UsageError('USAGE_UNEXPECTED_VALUE', `${name} takes no value`);
      given[field] = true;
      continue;
    }
    switch (name) {
      case '--action':
        given.action = parseAction(value());
        break;
      case '--enablerepo':
        given.enableRepos.push(...parseRepos(name, value()));
        break;
      case '--disablerepo':
        given.disableRepos.push(...parseRepos(name, value()));
        break;
      case '--config':
        given.configFile = value();
        break;
      default: {
        const key = CONFIG_FLAGS.get(name);
        if (key !== undefined) {
          const v = value();
          // RELEASEVER reaches the UpdateVM's dnf from the resolved configuration (request.ts).
          given.overrides[key] = key === 'KEYRING' ? [...(given.overrides[key] ?? []), v] : [v];
          break;
        }
        const option = parseDnfOption(arg);
        given.dnfOptions.push(option);
        if (DOM0_DNF_OPTIONS.has(name)) given.dom0DnfOptions.push(option);
        else given.dom0DnfOptions.push(...dom0Exclusions(option));
      }
    }
  }
  return given;
}

function parseAction(value: string): Action {
  const found = ACTIONS.find((a) => a === value);
  if (found === undefined) {
    throw new UsageError('USAGE_BAD_ACTION', `--action: "${printable(value)}" is not one of ${ACTIONS.join(', ')}`);
  }
  return found;
}

/**
 * dnf's command words, typed as dnf takes them (`dom0-update install NAME`): dom0-update takes
 * package names alone, so "install" would be sent to the UpdateVM as a package to find. No
 * Fedora package has one of these names. The value is the --action that does the same.
 */
const DNF_COMMAND_WORDS: ReadonlyMap<string, Action | 'check' | undefined> = new Map([
  ['install', 'install'],
  ['reinstall', 'reinstall'],
  ['downgrade', 'downgrade'],
  ['upgrade', 'upgrade'],
  ['update', 'upgrade'],
  ['check-update', 'check'],
  ['check-upgrade', 'check'],
  ['distro-sync', undefined],
  ['distrosync', undefined],
  ['upgrade-minimal', undefined],
  ['remove', undefined],
  ['erase', undefined],
  ['autoremove', undefined],
  ['clean', undefined],
  ['makecache', undefined],
]);

function refuseCommandWord(word: string, checkOnly: boolean): never {
  throw new UsageError('USAGE_BAD_PACKAGE', `"${word}" is a dnf command, not a package name: dom0-update takes package names alone; ${commandWordAdvice(word, checkOnly)}`);
}

/** What to give instead of a dnf command word: advice that works with the rest of the command line. */
function commandWordAdvice(word: string, checkOnly: boolean): string {
  const action = DNF_COMMAND_WORDS.get(word);
  if (action === 'check') return 'for a check, give --check-only';
  if (action === undefined) {
    const clean = word === 'clean' ? ' (--clean empties the caches before a run)' : '';
    return `dom0-update has no ${word}${clean}; it installs, upgrades, reinstalls and downgrades (--action=)`;
  }
  // a check takes no --action
  if (checkOnly) return 'leave the word out (dom0-update --check-only [NAME...])';
  if (action === 'upgrade') return 'dom0-update alone upgrades everything, --action=upgrade NAME... some packages';
  if (action === 'install') return 'leave the word out (dom0-update NAME... installs NAME)';
  return `give --action=${action} NAME...`;
}

function parsePackage(arg: string): string {
  if (!PACKAGE_SPEC_PATTERN.test(arg)) {
    throw new UsageError('USAGE_BAD_PACKAGE', `"${printable(arg)}" is not a valid package name`);
  }
  return arg;
}

/** dnf takes comma-separated lists; the request carries one repository id (or glob) per item. */
function parseRepos(option: string, value: string): string[] {
  return value.split(',').map((id) => {
    if (!REPO_ID_PATTERN.test(id)) {
      throw new UsageError('USAGE_BAD_REPO', `${option}: "${printable(id)}" is not a valid repository id`);
    }
    return id;
  });
}

/** dnf options that are allowed only with a value, in `--name=VALUE` form. */
const VALUE_FORMS: ReadonlyMap<string, string> = new Map([
  ['--exclude', '--exclude=SPEC'],
  ['--setopt', '--setopt=KEY=VALUE'],
]);

function parseDnfOption(arg: string): string {
  const form = VALUE_FORMS.get(arg);
  if (form !== undefined) {
    throw new UsageError('USAGE_OPTION_FORM', `${arg} takes its value after "=", as in ${form} (one argument)`);
  }
  if (arg.endsWith('=') && VALUE_FORMS.has(arg.slice(0, -1))) {
    throw new UsageError('USAGE_BAD_VALUE', `${arg.slice(0, -1)} needs a value, not an empty one`);
  }
  // `--setopt=timeout`: the option is right, its value is not KEY=VALUE
  if (/^--setopt=[A-Za-z0-9_.*-]+$/.test(arg)) {
    throw new UsageError('USAGE_BAD_VALUE', `--setopt: "${printable(arg.slice('--setopt='.length))}" is not KEY=VALUE, as in --setopt=KEY=VALUE`);
  }
  if (!DNF_OPTION_RULES.some((rule) => rule.test(arg))) {
    // an allowed dnf option with a value it does not take: said so, not "unknown option"
    const equals = arg.indexOf('=');
    const name = equals < 0 ? arg : arg.slice(0, equals);
    const value = printable(arg.slice(equals + 1));
    if (equals > 0 && DNF_OPTION_RULES.some((rule) => rule.test(name))) throw new UsageError('USAGE_UNEXPECTED_VALUE', `${name} takes no value`);
    if (name === '--exclude') throw new UsageError('USAGE_BAD_VALUE', `--exclude: "${value}" is not a package name or glob (letters, digits and ._+:~^*?[]-, starting with a letter, digit or _)`);
    if (name === '--setopt') {
      throw new UsageError('USAGE_BAD_VALUE', `--setopt: "${value}" is not KEY=VALUE with a key of letters, digits and _.*- and a value of printable ASCII`);
    }
    throw new UsageError(
      'USAGE_UNKNOWN_OPTION',
      `unknown option "${printable(arg)}": not a dom0-update option nor an allowed dnf option (see --help)`,
    );
  }
  if (arg.startsWith('--setopt=')) {
    const setting = arg.slice('--setopt='.length);
    const key = setting.slice(0, setting.indexOf('='));
    const bare = key.slice(key.lastIndexOf('.') + 1);
    // the protocol's list, which the agent enforces too
    if (!DNF_SETOPT_KEYS.has(bare)) {
      throw new UsageError(
        'USAGE_SETOPT_NOT_ALLOWED',
        `--setopt: "${printable(bare)}" may not be set; the UpdateVM's dnf takes only these settings: ${[...DNF_SETOPT_KEYS].join(', ')}`,
      );
    }
  }
  return arg;
}
