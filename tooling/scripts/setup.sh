#!/usr/bin/env bash
# Brings a fresh Debian 12 machine with Node 20 and npm to the point where the demo and the tests
# run: Debian's rpm tools, the pinned pnpm, the locked dependencies, the bundles. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
# turbo and pnpm exit 0 when Ctrl-C stops them; the trap runs once they return, so an interrupted
# setup stops here instead of going on to a demo or tests without their bundles.
trap 'echo "setup: interrupted" >&2; exit 130' INT
trap 'echo "setup: terminated" >&2; exit 143' TERM

# The demo and the tests make their scratch machines under TMPDIR and give dnf paths inside it.
if [ -n "${TMPDIR:-}" ]; then
  case "$TMPDIR" in
    /*) ;;
    *)
      echo "setup: TMPDIR=$TMPDIR is not an absolute path, which rpm refuses for its --root; set TMPDIR to an absolute path" >&2
      exit 1 ;;
  esac
  if [ ! -d "$TMPDIR" ] || [ ! -w "$TMPDIR" ]; then
    echo "setup: TMPDIR=$TMPDIR is not a writable directory; create it or unset TMPDIR" >&2
    exit 1
  fi
  case "$TMPDIR" in
    *[[:space:],]*)
      echo "setup: TMPDIR=$TMPDIR holds a space or comma, where dnf splits its repository settings; set TMPDIR to a path without them" >&2
      exit 1 ;;
    *%*)
      echo "setup: TMPDIR=$TMPDIR holds a %, which rpm expands as a macro in the paths it is given; set TMPDIR to a path without it" >&2
      exit 1 ;;
  esac
fi

need=()
# type -P: the kill binary, not the shell builtin
for tool in rpm rpmbuild rpmsign rpmkeys dnf createrepo_c gpg bwrap ip unshare setpriv kill; do
  type -P "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need[*]}; as root run: apt-get install -y rpm dnf createrepo-c gnupg bubblewrap iproute2 util-linux procps" >&2
    exit 1
  fi
  echo "setup: installing Debian packages (missing: ${need[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq rpm dnf createrepo-c gnupg bubblewrap iproute2 util-linux procps >/dev/null
fi

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  if ! npm install -g --loglevel=error "pnpm@$PNPM_VERSION" >/dev/null; then
    echo "setup: npm could not install pnpm $PNPM_VERSION globally (its error is above); run setup as root, or install pnpm $PNPM_VERSION yourself and put it first on PATH" >&2
    exit 1
  fi
fi

pnpm install --frozen-lockfile --reporter=silent
log=$(mktemp)
if ! pnpm exec turbo run build --output-logs=errors-only >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "setup: the build failed" >&2
  exit 1
fi
rm -f "$log"
