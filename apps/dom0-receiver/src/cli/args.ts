import { resolve } from 'node:path';
import { MAX_REPLY_PACKAGES } from '@dom0-updates/protocol';
import packageJson from '../../package.json' with { type: 'json' };
import { UsageError } from '../errors.ts';

export const VERSION: string = packageJson.version;

/** `auto` (the default) uses bwrap when the stage uid can, else none; see config/sandbox.ts. */
export type SandboxKind = 'none' | 'bwrap' | 'auto';
const SANDBOX_KINDS: readonly SandboxKind[] = ['auto', 'bwrap', 'none'];

export interface ReceiveArgs {
  readonly command: 'receive';
  readonly updatesDir: string;
  readonly keyrings: readonly string[];
  readonly maxFiles: number | undefined;
  readonly maxBytes: number | undefined;
  readonly timeoutSeconds: number | undefined;
  readonly idleTimeoutSeconds: number | undefined;
  readonly updateVm: string | undefined;
  readonly user: string | undefined;
  readonly now: Date | undefined;
  readonly sandbox: SandboxKind;
}

export interface VerifyArgs {
  readonly command: 'verify';
  readonly keyrings: readonly string[];
  readonly files: readonly string[];
  readonly now: Date | undefined;
}

/** Empties the cached repository (dom0-update --clean); see src/clean/clean-command.ts. */
export interface CleanArgs {
  readonly command: 'clean';
  readonly updatesDir: string;
}

/** The internal decode-and-verify child; everything else arrives on its channel (src/stage/channel.ts). */
export interface StageArgs {
  readonly command: 'stage';
}

export interface HelpArgs {
  readonly command: 'help';
  /** The command whose usage was asked for (`receive --help`); undefined for the whole usage. */
  readonly topic: HelpTopic | undefined;
}

export type HelpTopic = 'receive' | 'verify' | 'clean';

export interface VersionArgs {
  readonly command: 'version';
}

export type ParsedArgs = ReceiveArgs | VerifyArgs | CleanArgs | StageArgs | HelpArgs | VersionArgs;

/** Name of the internal subcommand the receiver starts its child with. */
export const STAGE_COMMAND = '__stage';

const DECIMAL = /^[1-9][0-9]*$/;
// qube names: Qubes allows letters, digits, '_', '-', '.' and starts with a letter
const VM_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,30}$/;
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

export function parsePositiveInteger(text: string, what: string): number {
  if (!DECIMAL.test(text)) throw new UsageError(`${what} must be a positive decimal integer, got "${text}"`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new UsageError(`${what} is too large (at most ${Number.MAX_SAFE_INTEGER}): "${text}"`);
  return value;
}

/**
 * Most members a batch may have: the reply names every accepted package and holds at most
 * MAX_REPLY_PACKAGES (protocol §6), so a larger limit would let a sender get a batch published
 * that the receiver then cannot answer.
 */
export function parseMaxFiles(text: string, what: string): number {
  const value = parsePositiveInteger(text, what);
  if (value > MAX_REPLY_PACKAGES) {
    throw new UsageError(`${what} is more than ${MAX_REPLY_PACKAGES}, the most packages a reply can name: "${text}"`);
  }
  return value;
}

/** Longest deadline accepted: ten years; beyond that a number is a mistake, not a policy. */
export const MAX_SECONDS = 10 * 365 * 24 * 60 * 60;

export function parseSeconds(text: string, what: string): number {
  const value = parsePositiveInteger(text, what);
  if (value > MAX_SECONDS) throw new UsageError(`${what} is more than ${MAX_SECONDS} seconds (ten years): "${text}"`);
  return value;
}

export function parseVmName(text: string, what: string): string {
  if (!VM_NAME.test(text)) throw new UsageError(`${what} is not a valid qube name: "${text}"`);
  return text;
}

function parseDate(text: string): Date {
  const date = new Date(text);
  if (!ISO_DATE.test(text) || Number.isNaN(date.getTime())) {
    throw new UsageError(`--now must be an ISO 8601 date such as 2024-06-01T00:00:00Z, got "${text}"`);
  }
  return date;
}

interface FlagSpec {
  readonly takesValue: boolean;
  readonly repeatable: boolean;
}

/** Splits argv into flags and operands, strictly: unknown flags, missing values and repeats are errors. */
function scan(argv: readonly string[], specs: Readonly<Record<string, FlagSpec>>): { flags: Map<string, string[]>; operands: string[] } {
  const flags = new Map<string, string[]>();
  const operands: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? '';
    i += 1;
    if (arg === '--') {
      operands.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      operands.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`unknown option ${name}`);
    let value: string;
    if (!spec.takesValue) {
      if (eq !== -1) throw new UsageError(`option ${name} takes no value`);
      value = '';
    } else if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i];
      if (next === undefined) throw new UsageError(`option ${name} needs a value`);
      value = next;
      i += 1;
    }
    if (spec.takesValue && value === '') throw new UsageError(`option ${name} needs a non-empty value`);
    const list = flags.get(name) ?? [];
    if (list.length > 0 && !spec.repeatable) throw new UsageError(`option ${name} given more than once`);
    list.push(value);
    flags.set(name, list);
  }
  return { flags, operands };
}

const one = (flags: Map<string, string[]>, name: string): string | undefined => flags.get(name)?.[0];

// `receive --help` asks for help like `--help` does: it wins over the checks that follow the scan
const HELP_FLAGS: Record<string, FlagSpec> = {
  '--help': { takesValue: false, repeatable: true },
  '-h': { takesValue: false, repeatable: true },
};

const wantsHelp = (flags: Map<string, string[]>): boolean => Object.keys(HELP_FLAGS).some((name) => flags.has(name));

const RECEIVE_FLAGS: Record<string, FlagSpec> = {
  ...HELP_FLAGS,
  '--updates-dir': { takesValue: true, repeatable: false },
  '--keyring': { takesValue: true, repeatable: true },
  '--max-files': { takesValue: true, repeatable: false },
  '--max-bytes': { takesValue: true, repeatable: false },
  '--timeout': { takesValue: true, repeatable: false },
  '--idle-timeout': { takesValue: true, repeatable: false },
  '--updatevm': { takesValue: true, repeatable: false },
  '--user': { takesValue: true, repeatable: false },
  '--now': { takesValue: true, repeatable: false },
  '--sandbox': { takesValue: true, repeatable: false },
};

const VERIFY_FLAGS: Record<string, FlagSpec> = {
  ...HELP_FLAGS,
  '--keyring': { takesValue: true, repeatable: true },
  '--now': { takesValue: true, repeatable: false },
};

const CLEAN_FLAGS: Record<string, FlagSpec> = {
  ...HELP_FLAGS,
  '--updates-dir': { takesValue: true, repeatable: false },
};

function parseClean(argv: readonly string[]): CleanArgs | HelpArgs {
  const { flags, operands } = scan(argv, CLEAN_FLAGS);
  if (wantsHelp(flags)) return { command: 'help', topic: 'clean' };
  if (operands.length > 0) throw new UsageError(`clean takes no operands, got "${operands[0] ?? ''}"`);
  const updatesDir = one(flags, '--updates-dir');
  if (updatesDir === undefined) throw new UsageError('clean needs --updates-dir DIR');
  return { command: 'clean', updatesDir: resolve(updatesDir) };
}

function parseReceive(argv: readonly string[]): ReceiveArgs | HelpArgs {
  const { flags, operands } = scan(argv, RECEIVE_FLAGS);
  if (wantsHelp(flags)) return { command: 'help', topic: 'receive' };
  if (operands.length > 0) throw new UsageError(`receive takes no operands, got "${operands[0] ?? ''}"`);
  const updatesDir = one(flags, '--updates-dir');
  if (updatesDir === undefined) throw new UsageError('receive needs --updates-dir DIR');
  const keyrings = flags.get('--keyring') ?? [];
  if (keyrings.length === 0) throw new UsageError('receive needs at least one --keyring FILE');
  const num = (name: string, parse: (text: string, what: string) => number = parsePositiveInteger): number | undefined => {
    const text = one(flags, name);
    return text === undefined ? undefined : parse(text, name);
  };
  const sandboxText = one(flags, '--sandbox') ?? 'auto';
  const sandbox = SANDBOX_KINDS.find((k) => k === sandboxText);
  if (sandbox === undefined) throw new UsageError(`--sandbox must be "auto", "bwrap" or "none", got "${sandboxText}"`);
  const updateVm = one(flags, '--updatevm');
  const user = one(flags, '--user');
  if (user !== undefined && !USER_NAME.test(user)) throw new UsageError(`--user is not a valid user name: "${user}"`);
  const now = one(flags, '--now');
  return {
    command: 'receive',
    updatesDir: resolve(updatesDir),
    keyrings: keyrings.map((k) => resolve(k)),
    maxFiles: num('--max-files', parseMaxFiles),
    maxBytes: num('--max-bytes'),
    timeoutSeconds: num('--timeout', parseSeconds),
    idleTimeoutSeconds: num('--idle-timeout', parseSeconds),
    updateVm: updateVm === undefined ? undefined : parseVmName(updateVm, '--updatevm'),
    user,
    now: now === undefined ? undefined : parseDate(now),
    sandbox,
  };
}

function parseVerify(argv: readonly string[]): VerifyArgs | HelpArgs {
  const { flags, operands } = scan(argv, VERIFY_FLAGS);
  if (wantsHelp(flags)) return { command: 'help', topic: 'verify' };
  const keyrings = flags.get('--keyring') ?? [];
  if (keyrings.length === 0) throw new UsageError('verify needs at least one --keyring FILE');
  if (operands.length === 0) throw new UsageError('verify needs at least one PKG.rpm');
  const now = one(flags, '--now');
  return {
    command: 'verify',
    keyrings: keyrings.map((k) => resolve(k)),
    files: operands,
    now: now === undefined ? undefined : parseDate(now),
  };
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const [command, ...rest] = argv;
  switch (command) {
    case 'receive':
      return parseReceive(rest);
    case 'verify':
      return parseVerify(rest);
    case 'clean':
      return parseClean(rest);
    case STAGE_COMMAND:
      if (rest.length > 0) throw new UsageError(`${STAGE_COMMAND} takes no arguments`);
      return { command: 'stage' };
    case 'help':
    case '--help':
    case '-h': {
      // `--help receive` as `receive --help`
      const [topic, ...more] = rest;
      if (topic === undefined) return { command: 'help', topic: undefined };
      // `--help --bogus`: name the option, as every other command does
      const option = [topic, ...more].find((arg) => arg.startsWith('-') && arg !== '-');
      if (option !== undefined) throw new UsageError(`unknown option ${option.split('=')[0] ?? option} after ${command}`);
      if (more.length > 0 || !isHelpTopic(topic)) throw new UsageError(`${command} takes at most one command name (receive, verify or clean)`);
      return { command: 'help', topic };
    }
    case '--version':
    case '-V':
      if (rest.length > 0) throw new UsageError(`${command} takes no arguments`);
      return { command: 'version' };
    case undefined:
      throw new UsageError('missing command (receive, verify or clean)');
    default:
      throw new UsageError(`unknown command "${command}" (expected receive, verify or clean)`);
  }
}

const SYNOPSIS: Readonly<Record<HelpTopic, string>> = {
  receive: `  dom0-receiver receive --updates-dir DIR --keyring FILE [--keyring FILE ...]
                        [--max-files N] [--max-bytes N] [--timeout SECONDS] [--idle-timeout SECONDS]
                        [--updatevm NAME] [--user NAME] [--sandbox auto|bwrap|none] [--now ISO-DATE]
`,
  verify: `  dom0-receiver verify --keyring FILE [--keyring FILE ...] [--now ISO-DATE] PKG.rpm ...
`,
  clean: `  dom0-receiver clean --updates-dir DIR
`,
};

export const USAGE = `usage:
${SYNOPSIS.receive}${SYNOPSIS.verify}${SYNOPSIS.clean}  dom0-receiver --help | --version
`;

function isHelpTopic(text: string): text is HelpTopic {
  return Object.hasOwn(SYNOPSIS, text);
}

/** The usage shown after a usage error: the command's own when one was named, else the whole. */
export function usageAfterError(argv: readonly string[]): string {
  const command = argv[0];
  return usageOf(command !== undefined && isHelpTopic(command) ? command : undefined);
}

/** The usage `--help` prints: one command's, or the whole. */
export function usageOf(topic: HelpTopic | undefined): string {
  return topic === undefined ? USAGE : `usage:\n${SYNOPSIS[topic]}`;
}
