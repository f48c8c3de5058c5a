/**
 * The command line, parsed once into a value that only holds valid combinations.
 * Our own options are an allow-list; any other well-formed `--name[=value]` is a dnf option for
 * the UpdateVM (see DOM0_DNF_OPTIONS for the few that dom0's own dnf also receives).
 */
import { CONFIG_KEYS, type ConfigKey, type RawSettings } from './config.ts';
import { UsageError } from './errors.ts';

export const ACTIONS = ['upgrade', 'install', 'reinstall', 'downgrade'] as const;
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
 * Everything else (for example --nogpgcheck or --setopt) reaches the UpdateVM's dnf only.
 */
export const DOM0_DNF_OPTIONS: ReadonlySet<string> = new Set([
  '--best',
  '--nobest',
  '--allowerasing',
  '--skip-broken',
  '--exclude',
  '--verbose',
]);

/** A package spec: name, optionally with version, arch, epoch or glob; never an option. */
const PACKAGE_SPEC = /^[A-Za-z0-9][A-Za-z0-9._+^~:*?-]{0,255}$/;
/** A repo id or glob, as dnf's --enablerepo takes it (comma lists allowed). */
const REPO_SPEC = /^[A-Za-z0-9_.:*?,-]{1,200}$/;
const DNF_OPTION_NAME = /^--[a-z][a-z0-9-]{0,40}$/;
const DNF_OPTION_VALUE = /^[\x20-\x7e]{0,512}$/;

/** Flags that set config keys: --updatevm, --updates-dir, --keyring (repeatable), ... */
const CONFIG_FLAGS: ReadonlyMap<string, ConfigKey> = new Map(
  CONFIG_KEYS.map((key) => [`--${key.toLowerCase().replaceAll('_', '-')}`, key]),
);

export function parseArgs(argv: readonly string[]): Command {
  let action: Action | undefined;
  let checkOnly = false;
  let clean = false;
  let assumeYes = false;
  let downloadOnly = false;
  let silent = false;
  let jsonProgress = false;
  let configFile: string | undefined;
  const packages: string[] = [];
  const enableRepos: string[] = [];
  const disableRepos: string[] = [];
  const dnfOptions: string[] = [];
  const dom0DnfOptions: string[] = [];
  const overrides: RawSettings = {};
  let wantsHelp = false;
  let wantsVersion = false;
  let onlyNames = false;

  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (onlyNames || !arg.startsWith('-')) {
      packages.push(parsePackage(arg));
      continue;
    }
    if (arg === '--') {
      onlyNames = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    // Options that take a value accept `--opt=value` and `--opt value`.
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError('USAGE_MISSING_VALUE', `${name} needs a value`);
      i += 1;
      return next;
    };
    const flag = (): true => {
      if (inline !== undefined) throw new UsageError('USAGE_UNEXPECTED_VALUE', `${name} takes no value`);
      return true;
    };
    switch (name) {
      case '-h':
      case '--help':
        wantsHelp = flag();
        break;
      case '--version':
        wantsVersion = flag();
        break;
      case '--clean':
        clean = flag();
        break;
      case '--check-only':
        checkOnly = flag();
        break;
      case '-y':
      case '--assumeyes':
        assumeYes = flag();
        break;
      case '--downloadonly':
        downloadOnly = flag();
        break;
      case '--silent':
        silent = flag();
        break;
      case '--json-progress':
        jsonProgress = flag();
        break;
      case '--action': {
        if (action !== undefined) throw new UsageError('USAGE_DUPLICATE', '--action given twice');
        action = parseAction(value());
        break;
      }
      case '--enablerepo':
        enableRepos.push(parseRepo(name, value()));
        break;
      case '--disablerepo':
        disableRepos.push(parseRepo(name, value()));
        break;
      case '--config': {
        const file = value();
        if (file === '') throw new UsageError('USAGE_BAD_VALUE', '--config needs a file name');
        configFile = file;
        break;
      }
      default: {
        const key = CONFIG_FLAGS.get(name);
        if (key !== undefined) {
          const v = value();
          overrides[key] = key === 'KEYRING' ? [...(overrides[key] ?? []), v] : [v];
          break;
        }
        const option = parseDnfOption(arg, name, inline);
        dnfOptions.push(option);
        if (DOM0_DNF_OPTIONS.has(name)) dom0DnfOptions.push(option);
      }
    }
  }

  if (wantsHelp) return { kind: 'help' };
  if (wantsVersion) return { kind: 'version' };

  if (checkOnly) {
    if (action !== undefined) throw new UsageError('USAGE_CONFLICT', '--check-only cannot be combined with --action');
    if (downloadOnly) throw new UsageError('USAGE_CONFLICT', '--check-only cannot be combined with --downloadonly');
  }
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
      enableRepos,
      disableRepos,
      clean,
      assumeYes,
      downloadOnly,
      silent,
      jsonProgress,
      dnfOptions,
      dom0DnfOptions,
      configFile,
      overrides,
    },
  };
}

function parseAction(value: string): Action {
  const found = ACTIONS.find((a) => a === value);
  if (found === undefined) {
    throw new UsageError('USAGE_BAD_ACTION', `--action: "${printable(value)}" is not one of ${ACTIONS.join(', ')}`);
  }
  return found;
}

function parsePackage(arg: string): string {
  if (!PACKAGE_SPEC.test(arg)) {
    throw new UsageError('USAGE_BAD_PACKAGE', `"${printable(arg)}" is not a valid package name`);
  }
  return arg;
}

function parseRepo(option: string, value: string): string {
  if (!REPO_SPEC.test(value)) {
    throw new UsageError('USAGE_BAD_REPO', `${option}: "${printable(value)}" is not a valid repository id`);
  }
  return value;
}

function parseDnfOption(arg: string, name: string, inline: string | undefined): string {
  if (!DNF_OPTION_NAME.test(name)) {
    throw new UsageError('USAGE_UNKNOWN_OPTION', `unknown option "${printable(arg)}" (see --help)`);
  }
  if (inline !== undefined && !DNF_OPTION_VALUE.test(inline)) {
    throw new UsageError('USAGE_BAD_VALUE', `${name}: the value holds characters that are not allowed`);
  }
  return arg;
}

function printable(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}
