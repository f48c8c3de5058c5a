#!/usr/bin/env bash
# The two quick-start commands: `./run.sh demo` runs a full update cycle locally,
# `./run.sh test` runs every test. Both first install what they need (idempotent).
set -euo pipefail
cd "$(dirname "$0")"
case "${1:-}" in
  demo) shift; bash tooling/scripts/setup.sh; exec pnpm --silent demo "$@" ;;
  test) shift; bash tooling/scripts/setup.sh; exec pnpm --silent test "$@" ;;
  *) echo "usage: ./run.sh demo [--tamper] [--keep] | ./run.sh test" >&2; exit 2 ;;
esac
