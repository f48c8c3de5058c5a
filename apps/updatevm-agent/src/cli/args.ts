import { resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { DEFAULT_WORKDIR } from '../installroot/paths.ts';
import { DEFAULT_DNF_LIMITS, parseByteLimit, type DnfLimits } from '../dnf/limits.ts';
import { dnfOptionTakesValue } from '../dnf/passthrough.ts';
import { buildRequest, type DownloadRequest } from '../request.ts';
import { sanitize } from '../text.ts';

/**
 * - qrexec: `qrexec-client-vm dom0 qubes.ReceiveUpdates+v1` (on Qubes);
 * - fd: the update stream goes to the inherited fd 3 and dom0's reply comes from fd 4 (what
 *   dom0-update's local transport gives the agent; dom0 starts its own receiver);
 * - local: the agent starts a receiver itself from `--receiver-command`; for a person running the
 *   agent by hand outside dom0-update (dom0-update never uses it: the UpdateVM must not choose how
 *   dom0's receiver runs or which keys it trusts).
 */
export type TransportSpec =
  | { readonly kind: 'qrexec' }
  | { readonly kind: 'fd' }
  | { readonly kind: 'local'; readonly argv: readonly [string, ...string[]] };

export interface CommonOptions {
  readonly workdir: string;
  readonly jsonProgress: boolean;
  /** Only `run` and `download` run dnf and take the options that set them; the defaults otherwise. */
  readonly dnfLimits: DnfLimits;
}

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'sync-state'; readonly options: CommonOptions }
  | { readonly kind: 'run'; readonly options: CommonOptions; readonly transport: TransportSpec }
  | {
      readonly kind: 'download';
      readonly options: CommonOptions;
      readonly transport: TransportSpec;
      readonly request: DownloadRequest;
    };

/** Options each subcommand accepts; `true` means the option takes a value. */
const ACCEPTED: Record<'run' | 'download' | 'sync-state', Record<string, boolean>> = {
  run: { '--workdir': true, '--transport': true, '--receiver-command': true, '--json-progress': false, '--max-metadata-bytes': true, '--max-dnf-memory': true },
  'sync-state': { '--workdir': true, '--json-progress': false },
  download: {
    '--workdir': true,
    '--transport': true,
    '--receiver-command': true,
    '--json-progress': false,
    '--max-metadata-bytes': true,
    '--max-dnf-memory': true,
    '--action': true,
    '--check-only': false,
    '--clean': false,
    '--enablerepo': true,
    '--disablerepo': true,
  },
};

/** What a command does accept: only `download` passes anything on to dnf. */
function optionHint(accepted: Record<string, boolean>, command: string): string {
  const own = `${command} accepts ${Object.keys(accepted).join(', ')}`;
  return command === 'download' ? `${own}; dnf options go after "--"` : own;
}

interface Scanned {
  readonly values: Map<string, string[]>;
  readonly positionals: string[];
  /** Everything after `--`, split into dnf options and package names. */
  readonly dnfOptions: string[];
  readonly afterPackages: string[];
}

function scan(args: readonly string[], accepted: Record<string, boolean>, command: string): Scanned {
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  const dnfOptions: string[] = [];
  const afterPackages: string[] = [];
  let i = 0;
  for (; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      i += 1;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const takesValue = accepted[name];
    if (takesValue === undefined) {
      throw new UsageError('UNKNOWN_OPTION', `${command}: unknown option "${sanitize(name)}" (${optionHint(accepted, command)})`);
    }
    let value: string;
    if (!takesValue) {
      if (eq !== -1) throw new UsageError('UNEXPECTED_VALUE', `${command}: option ${name} takes no value`);
      // as for an option with a value (single): twice is a slip, not a stronger yes
      if (values.has(name)) throw new UsageError('REPEATED_OPTION', `option ${name} was given more than once`);
      value = '';
    } else if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined) throw new UsageError('MISSING_VALUE', `${command}: option ${name} needs a value`);
      value = next;
      i += 1;
    }
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  for (; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg.startsWith('-')) {
      dnfOptions.push(arg);
      const next = args[i + 1];
      if (dnfOptionTakesValue(arg) && next !== undefined) {
        dnfOptions.push(next);
        i += 1;
      }
    } else {
      afterPackages.push(arg);
    }
  }
  return { values, positionals, dnfOptions, afterPackages };
}

function single(scanned: Scanned, name: string): string | undefined {
  const all = scanned.values.get(name);
  if (all === undefined) return undefined;
  if (all.length > 1) throw new UsageError('REPEATED_OPTION', `option ${name} was given more than once`);
  return all[0];
}

/** `--receiver-command` is a JSON array of strings: an argv, so no shell ever parses it. */
export function parseReceiverCommand(text: string): readonly [string, ...string[]] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('BAD_RECEIVER_COMMAND', '--receiver-command must be a JSON array of strings, e.g. ["node","receiver.mjs"]');
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a): a is string => typeof a === 'string')) {
    throw new UsageError('BAD_RECEIVER_COMMAND', '--receiver-command must be a non-empty JSON array of strings');
  }
  const [file, ...rest] = parsed;
  if (file === undefined || file === '' || parsed.some((a) => a.includes('\0'))) {
    throw new UsageError('BAD_RECEIVER_COMMAND', '--receiver-command has an empty program name or a NUL byte');
  }
  return [file, ...rest];
}

function transportOf(scanned: Scanned): TransportSpec {
  const kind = single(scanned, '--transport');
  const receiver = single(scanned, '--receiver-command');
  if (kind !== undefined && kind !== 'qrexec' && kind !== 'fd' && kind !== 'local') {
    throw new UsageError('BAD_TRANSPORT', `--transport must be qrexec, fd or local, not "${sanitize(kind)}"`);
  }
  if ((kind === 'qrexec' || kind === 'fd') && receiver !== undefined) {
    throw new UsageError('BAD_TRANSPORT', '--receiver-command only applies to --transport local');
  }
  if (kind === 'fd') return { kind: 'fd' };
  if (kind === 'local' || (kind === undefined && receiver !== undefined)) {
    if (receiver === undefined) throw new UsageError('BAD_TRANSPORT', '--transport local needs --receiver-command');
    return { kind: 'local', argv: parseReceiverCommand(receiver) };
  }
  return { kind: 'qrexec' };
}

function commonOf(scanned: Scanned): CommonOptions {
  const given = single(scanned, '--workdir') ?? DEFAULT_WORKDIR;
  if (given === '' || given.includes('\0')) throw new UsageError('BAD_WORKDIR', '--workdir must be a directory path');
  // rpm and dnf take only absolute roots: a relative one is taken from the current directory
  const workdir = resolve(given);
  // dnf gets a reposdir inside the workdir and splits that setting at whitespace and commas
  if (/[\s,]/.test(workdir)) throw new UsageError('BAD_WORKDIR', '--workdir may not hold a space or comma: dnf would split the repository directory inside it');
  return { workdir, jsonProgress: scanned.values.has('--json-progress'), dnfLimits: dnfLimitsOf(scanned) };
}

/** The UpdateVM's own command line sets them (dom0's request cannot: the service's argv is fixed). */
function dnfLimitsOf(scanned: Scanned): DnfLimits {
  const limit = (option: '--max-metadata-bytes' | '--max-dnf-memory'): number | undefined => {
    const text = single(scanned, option);
    return text === undefined ? undefined : parseByteLimit(text, option);
  };
  return {
    maxMetadataBytes: limit('--max-metadata-bytes') ?? DEFAULT_DNF_LIMITS.maxMetadataBytes,
    maxMemoryBytes: limit('--max-dnf-memory') ?? DEFAULT_DNF_LIMITS.maxMemoryBytes,
  };
}

function noPositionals(scanned: Scanned, command: string): void {
  const extra = [...scanned.positionals, ...scanned.afterPackages, ...scanned.dnfOptions][0];
  if (extra !== undefined) {
    throw new UsageError('UNEXPECTED_ARGUMENT', `${command} takes no arguments (got "${sanitize(extra)}"); the request comes from dom0`);
  }
}

export function parseArgs(argv: readonly string[]): Command {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new UsageError('NO_COMMAND', 'no command given: use run, download or sync-state');
  if (sub === '--help' || sub === '-h' || sub === 'help') return { kind: 'help' };
  if (sub === '--version' || sub === '-V') return { kind: 'version' };
  if (rest.includes('--help') || rest.includes('-h')) return { kind: 'help' };
  if (sub !== 'run' && sub !== 'download' && sub !== 'sync-state') {
    throw new UsageError('UNKNOWN_COMMAND', `unknown command "${sanitize(sub)}": use run, download or sync-state`);
  }
  const scanned = scan(rest, ACCEPTED[sub], sub);
  switch (sub) {
    case 'sync-state':
      noPositionals(scanned, sub);
      return { kind: 'sync-state', options: commonOf(scanned) };
    case 'run':
      noPositionals(scanned, sub);
      return { kind: 'run', options: commonOf(scanned), transport: transportOf(scanned) };
    case 'download': {
      const request = buildRequest({
        action: single(scanned, '--action'),
        packages: [...scanned.positionals, ...scanned.afterPackages],
        enableRepos: scanned.values.get('--enablerepo'),
        disableRepos: scanned.values.get('--disablerepo'),
        clean: scanned.values.has('--clean'),
        checkOnly: scanned.values.has('--check-only'),
        dnfOptions: scanned.dnfOptions,
      });
      return { kind: 'download', options: commonOf(scanned), transport: transportOf(scanned), request };
    }
  }
}
