/**
 * The configuration: `KEY=value` lines in a file (default /etc/dom0-updates/config), overridden by
 * DOM0_UPDATES_<KEY> environment variables, overridden by command-line flags. Keys are an
 * allow-list; every value is parsed once here into the type the rest of the program uses.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { MAX_REPLY_PACKAGES } from '@dom0-updates/protocol';
import { ConfigError, printable, UsageError } from './errors.ts';
import { DNF_LIST_SEPARATOR } from './temp-dir-check.ts';

const DEFAULT_CONFIG_FILE = '/etc/dom0-updates/config';
const CONFIG_ENV = 'DOM0_UPDATES_CONFIG';
const ENV_PREFIX = 'DOM0_UPDATES_';

export type Transport = 'qrexec' | 'local';

export interface Config {
  /** UpdateVM name; undefined means ask `qubes-prefs updatevm` (qrexec) or "local". */
  readonly updateVm: string | undefined;
  readonly transport: Transport;
  readonly updatesDir: string;
  readonly keyring: readonly string[];
  readonly dom0Root: string;
  readonly rpmdbPath: string;
  readonly reposDir: string;
  readonly dnfConf: string;
  readonly keysDir: string;
  readonly agentCommand: readonly string[];
  readonly agentWorkdir: string | undefined;
  readonly receiverCommand: readonly string[];
  readonly maxFiles: number;
  /** undefined: the receiver's own default (4 GiB or 90% of the free space beyond a reserve, the smaller). */
  readonly maxBytes: number | undefined;
  readonly timeoutSeconds: number;
  readonly lockFile: string;
  readonly releasever: string | undefined;
}

export const DEFAULT_CONFIG: Config = {
  updateVm: undefined,
  transport: 'qrexec',
  updatesDir: '/var/lib/qubes/updates',
  keyring: [],
  dom0Root: '/',
  rpmdbPath: '/var/lib/rpm',
  reposDir: '/etc/yum.repos.d',
  dnfConf: '/etc/dnf/dnf.conf',
  keysDir: '/etc/pki/rpm-gpg',
  agentCommand: ['node', '/usr/lib/dom0-updates/updatevm-agent.mjs'],
  agentWorkdir: undefined,
  receiverCommand: ['node', '/usr/lib/dom0-updates/dom0-receiver.mjs'],
  maxFiles: 4096,
  maxBytes: undefined,
  timeoutSeconds: 3600,
  lockFile: '/run/lock/dom0-update.lock',
  releasever: undefined,
};

/** The configuration keys, in the order the README documents them. */
export const CONFIG_KEYS = [
  'UPDATEVM',
  'TRANSPORT',
  'UPDATES_DIR',
  'KEYRING',
  'DOM0_ROOT',
  'RPMDB_PATH',
  'REPOS_DIR',
  'DNF_CONF',
  'KEYS_DIR',
  'AGENT_COMMAND',
  'AGENT_WORKDIR',
  'RECEIVER_COMMAND',
  'MAX_FILES',
  'MAX_BYTES',
  'TIMEOUT',
  'LOCK_FILE',
  'RELEASEVER',
] as const;

export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Raw values per key, before parsing; KEYRING may hold several. */
export type RawSettings = Partial<Record<ConfigKey, string[]>>;

/** Where a raw value came from, so an error can say which layer to fix. */
type Origin = 'file' | 'env' | 'flag';

const KEY_SET: ReadonlySet<string> = new Set(CONFIG_KEYS);

function isConfigKey(name: string): name is ConfigKey {
  return KEY_SET.has(name);
}

/** Qubes VM names: a letter, then letters, digits, `_`, `.`, `-`; at most 31 characters. */
const VM_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,30}$/;

export function parseVmName(value: string, where: string): string {
  if (!VM_NAME.test(value)) {
    throw new ConfigError('CONFIG_BAD_VM_NAME', `${where}: "${printable(value)}" is not a valid qube name`);
  }
  return value;
}

/** Where each value of a key was read (`file:line`), in the order of its values. */
type SettingLocations = Partial<Record<ConfigKey, string[]>>;

/** One layer of the configuration; a file layer also says where each value stands. */
interface SettingsLayer {
  readonly origin: Origin;
  readonly settings: RawSettings;
  readonly locations?: SettingLocations;
}

/** Parses the text of a config file. Unknown keys and malformed lines are errors, not warnings. */
export function parseConfigText(text: string, file: string): RawSettings {
  return parseConfigLines(text, file).settings;
}

function parseConfigLines(text: string, file: string): { settings: RawSettings; locations: SettingLocations } {
  const settings: RawSettings = {};
  const locations: SettingLocations = {};
  const lines = text.split('\n');
  lines.forEach((rawLine, index) => {
    const line = rawLine.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${file}:${index + 1}`;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError('CONFIG_SYNTAX', `${where}: expected KEY=value, got "${printable(line)}"`);
    }
    const key = line.slice(0, eq).trim();
    const value = unquote(line.slice(eq + 1).trim());
    if (!isConfigKey(key)) {
      throw new ConfigError('CONFIG_UNKNOWN_KEY', `${where}: unknown key "${printable(key)}"`);
    }
    const existing = settings[key];
    if (existing !== undefined && key !== 'KEYRING') {
      throw new ConfigError('CONFIG_DUPLICATE_KEY', `${where}: ${key} is set twice`);
    }
    settings[key] = [...(existing ?? []), value];
    locations[key] = [...(locations[key] ?? []), where];
  });
  return { settings, locations };
}

/**
 * Reads DOM0_UPDATES_<KEY> variables; KEYRING takes a colon-separated list. Like an unknown key in
 * the file, a variable with the prefix that names no key is an error: a misspelled
 * DOM0_UPDATES_TIMEOUTS must not leave the default in force without a word.
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const unknown = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && name !== CONFIG_ENV && !isConfigKey(name.slice(ENV_PREFIX.length)))
    .sort();
  if (unknown.length > 0) {
    throw new ConfigError(
      'CONFIG_UNKNOWN_KEY',
      `environment: ${unknown.map((name) => `"${printable(name)}"`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a configuration variable ` +
        `(${CONFIG_ENV}, or ${ENV_PREFIX}<KEY> for a key the README lists)`,
    );
  }
  const out: RawSettings = {};
  for (const key of CONFIG_KEYS) {
    const value = env[ENV_PREFIX + key];
    if (value === undefined) continue;
    out[key] = key === 'KEYRING' ? value.split(':').filter((v) => v !== '') : [value];
  }
  return out;
}

function readConfigFile(path: string, required: boolean): SettingsLayer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return { origin: 'file', settings: {} };
    const asRoot = (error as NodeJS.ErrnoException).code === 'EACCES' ? ' (dom0-update runs as root)' : '';
    throw new ConfigError('CONFIG_UNREADABLE', `cannot read config file ${path}: ${(error as Error).message}${asRoot}`);
  }
  return { origin: 'file', ...parseConfigLines(text, path) };
}

/**
 * Builds the configuration from its layers (later layers win). Flag values that fail to parse are
 * usage errors (exit 2); file and environment values are configuration errors.
 */
export function resolveConfig(layers: readonly SettingsLayer[]): Config {
  const merged = new Map<ConfigKey, { origin: Origin; values: string[]; locations: readonly string[] | undefined }>();
  for (const { origin, settings, locations } of layers) {
    for (const key of CONFIG_KEYS) {
      const values = settings[key];
      if (values !== undefined) merged.set(key, { origin, values, locations: locations?.[key] });
    }
  }
  const read = <T>(key: ConfigKey, parse: (value: string, where: string) => T, fallback: T): T => {
    const entry = merged.get(key);
    const value = entry?.values.at(-1);
    if (entry === undefined || value === undefined) return fallback;
    return wrap(entry.origin, () => parse(value, describe(key, entry.origin, entry.locations?.at(-1))));
  };
  const keyringEntry = merged.get('KEYRING');
  const keyring =
    keyringEntry === undefined
      ? DEFAULT_CONFIG.keyring
      : wrap(keyringEntry.origin, () =>
          keyringEntry.values.map((v, i) => absolutePath(v, describe('KEYRING', keyringEntry.origin, keyringEntry.locations?.[i]))),
        );
  return {
    updateVm: read('UPDATEVM', (v, w) => (v === '' ? undefined : parseVmName(v, w)), DEFAULT_CONFIG.updateVm),
    transport: read('TRANSPORT', parseTransport, DEFAULT_CONFIG.transport),
    updatesDir: read('UPDATES_DIR', absolutePath, DEFAULT_CONFIG.updatesDir),
    keyring,
    dom0Root: read('DOM0_ROOT', rpmPath, DEFAULT_CONFIG.dom0Root),
    rpmdbPath: read('RPMDB_PATH', rpmPath, DEFAULT_CONFIG.rpmdbPath),
    reposDir: read('REPOS_DIR', absolutePath, DEFAULT_CONFIG.reposDir),
    dnfConf: read('DNF_CONF', absolutePath, DEFAULT_CONFIG.dnfConf),
    keysDir: read('KEYS_DIR', absolutePath, DEFAULT_CONFIG.keysDir),
    agentCommand: read('AGENT_COMMAND', parseArgv, DEFAULT_CONFIG.agentCommand),
    agentWorkdir: read('AGENT_WORKDIR', (v, w) => (v === '' ? undefined : agentWorkdirPath(v, w)), undefined),
    receiverCommand: read('RECEIVER_COMMAND', parseArgv, DEFAULT_CONFIG.receiverCommand),
    maxFiles: read('MAX_FILES', fileCount, DEFAULT_CONFIG.maxFiles),
    maxBytes: read('MAX_BYTES', (v, w) => (v === '' ? undefined : positiveInteger(v, w)), DEFAULT_CONFIG.maxBytes),
    timeoutSeconds: read('TIMEOUT', seconds, DEFAULT_CONFIG.timeoutSeconds),
    lockFile: read('LOCK_FILE', absolutePath, DEFAULT_CONFIG.lockFile),
    releasever: read('RELEASEVER', parseReleasever, undefined),
  };
}

function describe(key: ConfigKey, origin: Origin, location?: string): string {
  if (origin === 'env') return `${ENV_PREFIX}${key}`;
  if (origin === 'flag') return `--${key.toLowerCase().replaceAll('_', '-')}`;
  return location === undefined ? key : `${location}: ${key}`;
}

function wrap<T>(origin: Origin, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (origin === 'flag' && error instanceof ConfigError) throw new UsageError(error.code, error.message);
    throw error;
  }
}

function parseTransport(value: string, where: string): Transport {
  if (value === 'qrexec' || value === 'local') return value;
  throw new ConfigError('CONFIG_BAD_TRANSPORT', `${where}: "${printable(value)}" is not a transport (qrexec or local)`);
}

function absolutePath(value: string, where: string): string {
  // NUL and newlines in a path would corrupt the repo definition and argv handed to tools.
  if (!isAbsolute(value) || /[\0-\x1f\x7f]/.test(value)) {
    throw new ConfigError('CONFIG_BAD_PATH', `${where}: "${printable(value)}" is not an absolute path`);
  }
  return normalize(value);
}

/**
 * rpm expands macros in its --root and --dbpath and in %_dbpath, even when `%` is written `%%`: a
 * path holding `%` would make rpm read (or create) another database than the one checked here.
 */
function rpmPath(value: string, where: string): string {
  const path = absolutePath(value, where);
  if (path.includes('%')) {
    throw new ConfigError('CONFIG_BAD_PATH', `${where}: "${printable(path)}" holds a "%", which rpm would expand as a macro and so use another path`);
  }
  return path;
}

/** The agent gives its dnf a reposdir inside the workdir, and dnf splits that setting at whitespace and commas. */
function agentWorkdirPath(value: string, where: string): string {
  const path = absolutePath(value, where);
  if (DNF_LIST_SEPARATOR.test(path)) {
    throw new ConfigError('CONFIG_BAD_PATH', `${where}: "${printable(path)}" holds a space or comma, where the agent's dnf would split its repository directory`);
  }
  return path;
}

function positiveInteger(value: string, where: string): number {
  const n = /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new ConfigError('CONFIG_BAD_NUMBER', `${where}: "${printable(value)}" is not a positive integer`);
  }
  return n;
}

/**
 * The receiver's own bound for --max-files: its reply names every accepted package and holds at
 * most this many, so a larger MAX_FILES would only fail there, after the download.
 */
function fileCount(value: string, where: string): number {
  const n = positiveInteger(value, where);
  if (n > MAX_REPLY_PACKAGES) {
    throw new ConfigError('CONFIG_BAD_NUMBER', `${where}: ${n} is more than ${MAX_REPLY_PACKAGES}, the most packages the receiver's reply can name`);
  }
  return n;
}

/** The receiver's own bound for --timeout: a larger TIMEOUT would only fail there, after the download. */
const MAX_TIMEOUT_SECONDS = 315_360_000;

function seconds(value: string, where: string): number {
  const n = positiveInteger(value, where);
  if (n > MAX_TIMEOUT_SECONDS) {
    throw new ConfigError('CONFIG_BAD_NUMBER', `${where}: ${n} is more than ${MAX_TIMEOUT_SECONDS} seconds (ten years), the receiver's limit`);
  }
  return n;
}

function parseReleasever(value: string, where: string): string | undefined {
  if (value === '') return undefined;
  // The form dnf's --releasever takes in the protocol's request too (DNF_OPTION_RULES).
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value)) {
    throw new ConfigError('CONFIG_BAD_RELEASEVER', `${where}: "${printable(value)}" is not a release version`);
  }
  return value;
}

/** A command as a JSON array of strings, so no shell ever splits it. */
function parseArgv(value: string, where: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length === 0 ||
    !parsed.every((a): a is string => typeof a === 'string' && !a.includes('\0'))
  ) {
    throw new ConfigError('CONFIG_BAD_COMMAND', `${where}: expected a JSON array of strings, got "${printable(value)}"`);
  }
  if (parsed[0] === '') throw new ConfigError('CONFIG_BAD_COMMAND', `${where}: the command (the array's first string) is empty`);
  return parsed;
}

function unquote(value: string): string {
  if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) {
    return value.slice(1, -1);
  }
  return value;
}

/**
 * The settings the receiver uses. With TRANSPORT=qrexec the receiver is the qubes.ReceiveUpdates
 * service, started by qrexec for the UpdateVM: it reads dom0's config file and nothing that
 * dom0-update was given, so a flag or variable for these would silently not apply to it.
 */
const RECEIVER_KEYS = ['UPDATES_DIR', 'KEYRING', 'MAX_FILES', 'MAX_BYTES'] as const satisfies readonly ConfigKey[];

/**
 * Refuses, for a run that receives over qrexec, any flag or DOM0_UPDATES_<KEY> variable for a
 * receiver setting: a narrower --keyring or another --updates-dir must not look applied when it is
 * not. A flag is a usage error (exit 2), a variable a configuration error.
 */
export function refuseReceiverOverrides(env: NodeJS.ProcessEnv, flags: RawSettings): void {
  const fromEnv = settingsFromEnv(env);
  const named = [
    ...RECEIVER_KEYS.filter((key) => flags[key] !== undefined).map((key) => describe(key, 'flag')),
    ...RECEIVER_KEYS.filter((key) => fromEnv[key] !== undefined).map((key) => describe(key, 'env')),
  ];
  if (named.length === 0) return;
  const message =
    `${named.join(', ')}: with TRANSPORT=qrexec the receiver is the qubes.ReceiveUpdates service, which reads only ` +
    `dom0's config file, so this would not apply to it; set ${RECEIVER_KEYS.join(', ')} in that file instead`;
  if (RECEIVER_KEYS.some((key) => flags[key] !== undefined)) throw new UsageError('CONFIG_NOT_FOR_QREXEC', message);
  throw new ConfigError('CONFIG_NOT_FOR_QREXEC', message);
}

/** The configuration file a run reads: `--config`, else DOM0_UPDATES_CONFIG, else the default (which may be missing). */
export function configFileOf(configFile: string | undefined, env: NodeJS.ProcessEnv): { readonly path: string; readonly explicit: boolean } {
  // an empty DOM0_UPDATES_CONFIG counts as unset, as empty values of the receiver's variables do
  const explicit = configFile ?? (env[CONFIG_ENV] === '' ? undefined : env[CONFIG_ENV]);
  return { path: explicit ?? DEFAULT_CONFIG_FILE, explicit: explicit !== undefined };
}

/** The whole configuration: defaults, then the file, then the environment, then flags. */
export function loadConfig(configFile: string | undefined, env: NodeJS.ProcessEnv, flags: RawSettings): Config {
  const file = configFileOf(configFile, env);
  return resolveConfig([
    readConfigFile(file.path, file.explicit),
    { origin: 'env', settings: settingsFromEnv(env) },
    { origin: 'flag', settings: flags },
  ]);
}
