#!/usr/bin/env bash
# The two quick-start commands: `./run.sh demo` runs a full update cycle locally,
# `./run.sh test` runs every test. Both first install what they need (idempotent).
set -euo pipefail
cd "$(dirname "$0")"
case "${1:-}" in
  demo) shift; bash tooling/scripts/setup.sh; exec node tooling/e2e/dist/demo.mjs "$@" ;;
  # node directly, not through pnpm: the count line must stay the last line of the output.
  test) shift; bash tooling/scripts/setup.sh; exec node tooling/scripts/run-tests.mjs "$@" ;;
  *) echo "usage: ./run.sh demo [--tamper] [--keep] | ./run.sh test" >&2; exit 2 ;;
esac
