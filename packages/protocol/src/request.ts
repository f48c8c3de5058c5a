import { RequestError } from './errors.ts';
import { Checker, parseJsonLine } from './json/checker.ts';
import { PROTOCOL_VERSION, type ProtocolVersion } from './version.ts';

/** What the UpdateVM is asked to do with dnf (see SPEC.md for the mapping). */
export const REQUEST_ACTIONS = ['upgrade', 'install', 'reinstall', 'downgrade', 'distro-sync', 'check-only', 'download'] as const;
export type RequestAction = (typeof REQUEST_ACTIONS)[number];

/** Actions that make no sense without package names. */
export const ACTIONS_NEEDING_PACKAGES: readonly RequestAction[] = ['install', 'reinstall', 'downgrade', 'download'];

/** dom0's request, carried as `request.json`, the first member of the state-sync stream. */
export interface UpdateRequest {
  readonly protocol: ProtocolVersion;
  readonly action: RequestAction;
  /** dnf package specs; never start with "-" so none can be read as an option. */
  readonly packages: readonly string[];
  readonly enableRepos: readonly string[];
  readonly disableRepos: readonly string[];
  /** Drop the UpdateVM's dnf caches before resolving. */
  readonly clean: boolean;
  /** Extra dnf options from the allow-list `DNF_OPTION_RULES`, one option per item. */
  readonly dnfOptions: readonly string[];
}

export const MAX_REQUEST_BYTES = 64 * 1024;
export const MAX_REQUEST_PACKAGES = 1024;
export const MAX_REQUEST_REPOS = 256;
export const MAX_REQUEST_OPTIONS = 64;

export const PACKAGE_SPEC_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._+:~^*?[\]-]{0,254}$/;
/** Repository ids, with dnf's glob characters (e.g. `*` to disable all). */
export const REPO_ID_PATTERN = /^[A-Za-z0-9_*?][A-Za-z0-9._:*?-]{0,99}$/;

/** The allow-list of extra dnf options; every item must match one pattern exactly. */
export const DNF_OPTION_RULES: readonly RegExp[] = [
  /^--(best|nobest|skip-broken|allowerasing|refresh|quiet|verbose|nodocs)$/,
  /^--exclude=[A-Za-z0-9_][A-Za-z0-9._+:~^*?[\]-]{0,254}$/,
  /^--releasever=[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  /^--setopt=[A-Za-z0-9_][A-Za-z0-9_.*-]{0,127}=[\x20-\x7e]{0,1024}$/,
];

/**
 * The dnf settings a request's `--setopt=KEY=VALUE` may change in the UpdateVM (globally or as
 * `repoid.KEY`): network and solver tuning only. The agent refuses every other key; dom0-update
 * checks the same list while parsing its command line, so a refused key fails early in dom0.
 * `skip_if_unavailable` is not on it: the agent forces it off for every repository so that a dead
 * mirror is an error, and a repository-scoped `True` would turn an outage into "no updates"
 * (`--disablerepo` leaves a repository out explicitly).
 */
export const DNF_SETOPT_KEYS: ReadonlySet<string> = new Set([
  'max_parallel_downloads',
  'timeout',
  'minrate',
  'retries',
  'throttle',
  'bandwidth',
  'proxy',
  'proxy_username',
  'proxy_password',
  'proxy_auth_method',
  'ip_resolve',
  'sslverify',
  'fastestmirror',
  'deltarpm',
  'zchunk',
  'install_weak_deps',
  'exclude',
  'excludepkgs',
  'includepkgs',
  'best',
  'obsoletes',
  'multilib_policy',
  'metadata_expire',
  'countme',
]);

const FIELDS = ['protocol', 'action', 'packages', 'enableRepos', 'disableRepos', 'clean', 'dnfOptions'] as const;

/** Checks an untrusted value against the request schema; collects every problem. */
export function validateRequest(value: unknown): UpdateRequest {
  const check = new Checker();
  const record = check.object(value, 'request', FIELDS);
  if (record === undefined) throw new RequestError('REQUEST_INVALID', check.issues);
  const protocol = check.oneOf(record['protocol'], 'request.protocol', [PROTOCOL_VERSION]);
  const action = check.oneOf(record['action'], 'request.action', REQUEST_ACTIONS);
  const packages = check.array(record['packages'], 'request.packages', MAX_REQUEST_PACKAGES, (v, p) =>
    check.string(v, p, PACKAGE_SPEC_PATTERN, 255),
  );
  const enableRepos = check.array(record['enableRepos'], 'request.enableRepos', MAX_REQUEST_REPOS, (v, p) =>
    check.string(v, p, REPO_ID_PATTERN, 100),
  );
  const disableRepos = check.array(record['disableRepos'], 'request.disableRepos', MAX_REQUEST_REPOS, (v, p) =>
    check.string(v, p, REPO_ID_PATTERN, 100),
  );
  const clean = check.boolean(record['clean'], 'request.clean');
  const dnfOptions = check.array(record['dnfOptions'], 'request.dnfOptions', MAX_REQUEST_OPTIONS, (v, p) => {
    if (typeof v !== 'string') return check.fail(p, 'must be a string');
    return DNF_OPTION_RULES.some((rule) => rule.test(v)) ? v : check.fail(p, 'is not an allowed dnf option');
  });
  if (action !== undefined && packages !== undefined && packages.length === 0 && ACTIONS_NEEDING_PACKAGES.includes(action)) {
    check.fail('request.packages', `action "${action}" needs at least one package`);
  }
  if (
    protocol === undefined ||
    action === undefined ||
    packages === undefined ||
    enableRepos === undefined ||
    disableRepos === undefined ||
    clean === undefined ||
    dnfOptions === undefined ||
    check.count > 0
  ) {
    throw new RequestError('REQUEST_INVALID', check.issues);
  }
  return { protocol, action, packages, enableRepos, disableRepos, clean, dnfOptions };
}

/** Parses `request.json`: one JSON line of at most MAX_REQUEST_BYTES, then the schema. */
export function parseRequest(bytes: Uint8Array): UpdateRequest {
  const parsed = parseJsonLine(bytes, MAX_REQUEST_BYTES);
  if ('problem' in parsed) {
    throw new RequestError(parsed.problem === 'too-large' ? 'REQUEST_TOO_LARGE' : 'REQUEST_BAD_JSON', [
      `request.json: ${parsed.detail}`,
    ]);
  }
  return validateRequest(parsed.value);
}

/** Validates and serialises a request as its one JSON line (fields in schema order). */
export function encodeRequest(request: UpdateRequest): Uint8Array {
  const valid = validateRequest(request);
  const ordered = Object.fromEntries(FIELDS.map((key) => [key, valid[key]]));
  const bytes = new TextEncoder().encode(`${JSON.stringify(ordered)}\n`);
  if (bytes.length > MAX_REQUEST_BYTES) throw new RequestError('REQUEST_TOO_LARGE', [`request.json: ${bytes.length} bytes`]);
  return bytes;
}
