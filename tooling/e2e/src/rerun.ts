// The `rerun` script a kept demo machine holds: dom0-update once more on that machine, after the
// demo's network namespaces and its mirror are gone.

export interface RerunPlan {
  /** The node that runs every bundle. */
  readonly node: string;
  readonly fixturesCli: string;
  /** The repository the mirror serves. */
  readonly servedDir: string;
  /** The .repo file whose baseurl must name the new mirror. */
  readonly repoFile: string;
  readonly cli: string;
  /** The configuration without the namespaces' `ip netns exec` prefixes. */
  readonly configFile: string;
  /** dom0-update's whole environment, as the demo runs it. */
  readonly env: Readonly<Record<string, string>>;
}

/** One word for sh, whatever it holds. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function rerunScript(plan: RerunPlan): string {
  const q = shellQuote;
  const env = Object.entries(plan.env).map(([k, v]) => `${k}=${q(v)}`);
  return [
    '#!/bin/sh',
    '# Written by the demo: runs dom0-update again on this kept machine, with the arguments given',
    '# (e.g. -y, or --check-only). The demo\'s network namespaces are gone, so every side runs as an',
    '# ordinary process, and the mirror is served anew on 127.0.0.1 for as long as the run takes',
    '# (dom0-repos.d/fixtures.repo is pointed at it; its baseurl names the last one started).',
    'set -eu',
    'dom0_update() {',
    `  env -i ${env.join(' ')} "TMPDIR=\${TMPDIR:-/tmp}" ${q(plan.node)} ${q(plan.cli)} --config=${q(plan.configFile)} "$@"`,
    '}',
    '# what needs no mirror gets none',
    'for arg in "$@"; do',
    '  case "$arg" in -h|--help|--version) dom0_update "$@"; exit;; esac',
    'done',
    '# the traps first, so no signal leaves the mirror behind (fixtures-cli serve also ends with this script)',
    "mirror=''",
    "url_file=''",
    'stop() { if [ -n "$mirror" ]; then kill "$mirror" 2>/dev/null || :; wait "$mirror" 2>/dev/null || :; fi; if [ -n "$url_file" ]; then rm -f "$url_file"; fi; }',
    'trap stop EXIT',
    "trap 'exit 129' HUP",
    "trap 'exit 130' INT",
    "trap 'exit 143' TERM",
    'url_file=$(mktemp)',
    `${q(plan.node)} ${q(plan.fixturesCli)} serve ${q(plan.servedDir)} > "$url_file" &`,
    'mirror=$!',
    "until url=$(grep -m 1 '^http://127\\.0\\.0\\.1:[0-9]*/$' \"$url_file\"); do",
    '  if ! kill -0 "$mirror" 2>/dev/null; then echo "rerun: the mirror did not start" >&2; exit 1; fi',
    '  sleep 0.1',
    'done',
    `sed -i "s|^baseurl=.*|baseurl=$url|" ${q(plan.repoFile)}`,
    'status=0',
    'dom0_update "$@" || status=$?',
    'exit "$status"',
    '',
  ].join('\n');
}
