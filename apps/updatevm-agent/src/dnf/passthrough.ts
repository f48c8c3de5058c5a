import { DNF_SETOPT_KEYS } from '@dom0-updates/protocol';
import { UsageError } from '../errors.ts';
import { sanitize } from '../text.ts';

declare const dnfOptionBrand: unique symbol;
/** A dnf option that passed the allow-list below, in `--name` or `--name=value` form. */
export type DnfOption = string & { readonly [dnfOptionBrand]: true };

/**
 * Options a person may pass through to dnf. An allow-list: anything that could change where dnf
 * reads configuration or writes files (--installroot, --config, --downloaddir, --setopt=cachedir=,
 * --setopt=reposdir=, plugins...) is not here and so is refused.
 */
const FLAGS = new Set([
  '--refresh',
  '--best',
  '--nobest',
  '--allowerasing',
  '--skip-broken',
  '--skip-unavailable',
  '--security',
  '--bugfix',
  '--enhancement',
  '--newpackage',
  '--quiet',
  '-q',
  '--verbose',
  '-v',
  '--nodocs',
]);

/** Options that take a value; the value must match the pattern. */
const VALUED: ReadonlyMap<string, RegExp> = new Map([
  ['--releasever', /^[A-Za-z0-9._-]{1,64}$/],
  ['--exclude', /^[A-Za-z0-9_/][A-Za-z0-9._+:~^*?@/()\[\],-]{0,255}$/],
  ['--enablerepo', /^[A-Za-z0-9_.:*?\[\],-]{1,256}$/],
  ['--disablerepo', /^[A-Za-z0-9_.:*?\[\],-]{1,256}$/],
  ['--repo', /^[A-Za-z0-9_.:*?\[\],-]{1,256}$/],
  ['--advisory', /^[A-Za-z0-9._:-]{1,128}$/],
  ['--advisories', /^[A-Za-z0-9._:,-]{1,1024}$/],
  ['--cve', /^[A-Za-z0-9._:-]{1,128}$/],
  ['--bz', /^[0-9]{1,12}$/],
  ['--sec-severity', /^[A-Za-z]{1,16}$/],
  ['--forcearch', /^[A-Za-z0-9_]{1,32}$/],
  ['--setopt', /^[A-Za-z0-9_.:*-]+=[^\0\n\r]{0,1024}$/],
]);

/** Short spellings that take their value as the next argument. */
const SHORT_VALUED: ReadonlyMap<string, string> = new Map([['-x', '--exclude']]);

function refuse(option: string, why: string): never {
  throw new UsageError('DNF_OPTION_NOT_ALLOWED', `dnf option "${sanitize(option)}" is not allowed: ${why}`);
}

function checkSetopt(value: string): void {
  const key = value.slice(0, value.indexOf('='));
  const bare = key.includes('.') ? key.slice(key.lastIndexOf('.') + 1) : key;
  if (!DNF_SETOPT_KEYS.has(bare)) refuse(`--setopt=${value}`, `setting "${bare}" may not be changed here`);
}

/** Whether `arg` (an allowed option spelled without `=value`) takes the next argument as its value. */
export function dnfOptionTakesValue(arg: string): boolean {
  return !arg.includes('=') && (VALUED.has(arg) || SHORT_VALUED.has(arg));
}

/**
 * Validates dnf options passed through by a person or by dom0's request, normalising
 * `--name value` and `-x value` to `--name=value` so each option is one argv element.
 */
export function parseDnfOptions(args: readonly string[]): DnfOption[] {
  const out: DnfOption[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (FLAGS.has(arg)) {
      out.push(arg as DnfOption);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq === -1 ? arg : arg.slice(0, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    const long = SHORT_VALUED.get(name);
    if (long !== undefined) name = long;
    const pattern = VALUED.get(name);
    if (pattern === undefined) {
      refuse(arg, arg.startsWith('-') ? 'not on the list of options this agent passes to dnf' : 'not an option');
    }
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined) refuse(arg, 'it needs a value');
      value = next;
      i += 1;
    }
    if (!pattern.test(value)) refuse(`${name}=${value}`, 'the value has characters dnf options never need');
    if (name === '--setopt') checkSetopt(value);
    out.push(`${name}=${value}` as DnfOption);
  }
  return out;
}
