import { UsageError } from './errors.ts';
import { parseDnfOptions, type DnfOption } from './dnf/passthrough.ts';
import { sanitize } from './text.ts';

/**
 * What dnf is asked to do (the protocol's actions minus `check-only`, which is `checkOnly` here).
 * `download` fetches named packages (and what they need) for dom0 to keep.
 */
export const ACTIONS = ['upgrade', 'install', 'reinstall', 'downgrade', 'distro-sync', 'download'] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * Every action a request or `--action` may name, with a note for the help text: the one list the
 * help text and the unknown-action error are both built from.
 */
export const ACTION_NOTES: Readonly<Record<Action | 'check-only', string>> = {
  upgrade: 'the default without packages',
  install: 'the default with packages',
  reinstall: '',
  downgrade: '',
  'distro-sync': 'without packages: everything',
  download: 'resolved like install; dom0 only stores the result',
  'check-only': 'the same as --check-only',
};
export const ACTION_NAMES = Object.keys(ACTION_NOTES) as readonly (Action | 'check-only')[];

declare const packageSpecBrand: unique symbol;
/** A package name, glob, NEVRA or provide; never starts with `-`, so dnf cannot read it as an option. */
export type PackageSpec = string & { readonly [packageSpecBrand]: true };

declare const repoPatternBrand: unique symbol;
/** A repository id or glob as `--enablerepo`/`--disablerepo` take it. */
export type RepoPattern = string & { readonly [repoPatternBrand]: true };

/** One validated download request, whether it came from dom0's request.json or a person's command line. */
export interface DownloadRequest {
  readonly action: Action;
  readonly packages: readonly PackageSpec[];
  readonly enableRepos: readonly RepoPattern[];
  readonly disableRepos: readonly RepoPattern[];
  readonly clean: boolean;
  readonly checkOnly: boolean;
  readonly dnfOptions: readonly DnfOption[];
}

const PACKAGE_SPEC = /^[A-Za-z0-9_/][A-Za-z0-9._+:~^*?@/()\[\]-]{0,255}$/;
const REPO_PATTERN = /^[A-Za-z0-9_.:*?\[\]-]{1,128}$/;

function parseAction(value: string): Action {
  const found = ACTIONS.find((a) => a === value);
  if (found === undefined) {
    throw new UsageError(
      'UNKNOWN_ACTION',
      `unknown action "${sanitize(value)}": expected one of ${ACTION_NAMES.join(', ')}`,
    );
  }
  return found;
}

export function parsePackageSpec(value: string): PackageSpec {
  if (!PACKAGE_SPEC.test(value)) {
    throw new UsageError(
      'BAD_PACKAGE_SPEC',
      `package "${sanitize(value)}" is not a valid package name or pattern`,
    );
  }
  return value as PackageSpec;
}

/** Accepts `a,b` lists as dnf does, returning one pattern per element. */
function parseRepoPatterns(value: string): RepoPattern[] {
  return value.split(',').map((part) => {
    if (!REPO_PATTERN.test(part)) {
      throw new UsageError('BAD_REPO_ID', `repository "${sanitize(part)}" is not a valid repository id or pattern`);
    }
    return part as RepoPattern;
  });
}

export interface RequestFields {
  readonly action?: string | undefined;
  readonly packages?: readonly string[] | undefined;
  readonly enableRepos?: readonly string[] | undefined;
  readonly disableRepos?: readonly string[] | undefined;
  readonly clean?: boolean | undefined;
  readonly checkOnly?: boolean | undefined;
  readonly dnfOptions?: readonly string[] | undefined;
}

/**
 * Builds a request from loosely typed fields; the one place the action/package rules live.
 * Without an action, named packages mean install and no packages mean upgrade (as Qubes does).
 */
export function buildRequest(fields: RequestFields): DownloadRequest {
  const packages = (fields.packages ?? []).map(parsePackageSpec);
  // The protocol spells the check as an action of its own; here it is a flag on an upgrade.
  const checkOnly = fields.checkOnly === true || fields.action === 'check-only';
  const named = fields.action === 'check-only' ? undefined : fields.action;
  const action = named === undefined ? (packages.length > 0 && !checkOnly ? 'install' : 'upgrade') : parseAction(named);
  if (action !== 'upgrade' && action !== 'distro-sync' && packages.length === 0 && !checkOnly) {
    throw new UsageError('PACKAGES_REQUIRED', `action ${action} needs at least one package name`);
  }
  return {
    action,
    packages,
    enableRepos: (fields.enableRepos ?? []).flatMap(parseRepoPatterns),
    disableRepos: (fields.disableRepos ?? []).flatMap(parseRepoPatterns),
    clean: fields.clean ?? false,
    checkOnly,
    dnfOptions: parseDnfOptions(fields.dnfOptions ?? []),
  };
}
