#!/usr/bin/env bash
# Brings a fresh Debian 12 machine with Node 20 and npm to the point where the demo and the tests
# run: Debian's rpm tools, the pinned pnpm, the locked dependencies, the bundles. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
for tool in rpm rpmbuild rpmsign rpmkeys dnf createrepo_c gpg bwrap ip unshare setpriv; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need[*]}; as root run: apt-get install -y rpm dnf createrepo-c gnupg bubblewrap iproute2 util-linux" >&2
    exit 1
  fi
  echo "setup: installing Debian packages (missing: ${need[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq rpm dnf createrepo-c gnupg bubblewrap iproute2 util-linux >/dev/null
fi

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null
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
