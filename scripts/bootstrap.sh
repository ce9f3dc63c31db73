#!/usr/bin/env bash
# The two front doors: `npm start` and `npm test` both come here. On a fresh machine this installs what is missing
# (node_modules with the pinned Node 24, the infrastructure), brings the infrastructure up, then runs the stack or the
# whole test suite on Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: bootstrap.sh start|test|newman}
shift || true

say() { printf '[devicesaga] %s\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1 || { say "missing prerequisite: $1 — $2"; exit 1; }; }
need npm "install Node.js 20+ with npm 11 (https://nodejs.org or your distribution's nodejs/npm packages)"
need java "install Java 17+ (Debian: apt-get install openjdk-17-jre-headless)"
need mvn "install Apache Maven (Debian: apt-get install maven)"

# Install when node_modules is missing or older than the lock file.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing dependencies (npm ci, pinned Node 24 included)…"
  npm ci --no-audit --no-fund --loglevel=error
fi
export PATH="$PWD/node_modules/.bin:$PATH"
say "runtime: node $(node -v)"

bash infra/infra.sh up

# The dashboard's browser tests drive Debian's Chromium through playwright-core (which cannot download a browser here).
if [ "$mode" = test ] && [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium for the browser tests (apt-get)…"
    mkdir -p .run
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >>.run/apt-chromium.log 2>&1 \
      || { apt-get update -q >>.run/apt-chromium.log 2>&1 && apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >>.run/apt-chromium.log 2>&1; }; } \
      || say "could not install chromium (see .run/apt-chromium.log): the browser tests will fail; install it with apt-get install chromium"
  else
    say "chromium is not installed and this is not root on Debian: the browser tests will fail; install it (Debian: apt-get install chromium) or set CHROMIUM_PATH"
  fi
fi
# shellcheck disable=SC1091
source infra/.run/env

case "$mode" in
  start) exec node_modules/.bin/tsx scripts/stack.ts --demo "$@" ;;
  test) exec node_modules/.bin/tsx scripts/test-all.ts "$@" ;;
  newman) exec node_modules/.bin/tsx scripts/newman-only.ts "$@" ;;
  *) say "unknown mode $mode"; exit 2 ;;
esac
