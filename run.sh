#!/usr/bin/env bash
# The two quick-start commands: `./run.sh demo` runs a full update cycle locally,
# `./run.sh test` runs every test. Both first install what they need (idempotent).
# `sh run.sh ...` too: the rest is bash
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
# through a symlink too: the checkout is where the file really is
cd "$(dirname "$(readlink -f "$0")")"
USAGE="usage: ./run.sh demo [--tamper] [--keep] | ./run.sh test"
case "${1:-}" in
  -h|--help) echo "$USAGE"; exit 0 ;;
  demo)
    shift
    # a bad flag is refused before setup installs anything
    for arg in "$@"; do
      case "$arg" in
        --tamper|--keep) ;;
        -h|--help) echo "$USAGE"; exit 0 ;;
        *) echo "run.sh: unknown demo option: $arg" >&2; echo "$USAGE" >&2; exit 2 ;;
      esac
    done
    bash tooling/scripts/setup.sh; exec node tooling/e2e/dist/demo.mjs "$@" ;;
  # node directly, not through pnpm: the count line must stay the last line of the output.
  test)
    shift
    # every package's tests, counted together: a turbo filter would count the others as failed
    if [ "$#" -gt 0 ]; then
      case "$1" in -h|--help) echo "$USAGE"; exit 0 ;; esac
      echo "run.sh: test takes no options (one package's tests: cd into it, then pnpm exec vitest run)" >&2; echo "$USAGE" >&2; exit 2
    fi
    # a setup that fails still ends with the count line, so the run is never read as empty
    bash tooling/scripts/setup.sh || { echo "run.sh: setup failed; no test ran" >&2; echo "0 passed, 1 failed"; exit 1; }
    exec node tooling/scripts/run-tests.mjs ;;
  *) echo "$USAGE" >&2; exit 2 ;;
esac
