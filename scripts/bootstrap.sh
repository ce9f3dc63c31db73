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
# shellcheck disable=SC1091
source infra/.run/env

case "$mode" in
  start) exec node_modules/.bin/tsx scripts/stack.ts --demo "$@" ;;
  test) exec node_modules/.bin/tsx scripts/test-all.ts "$@" ;;
  newman) exec node_modules/.bin/tsx scripts/newman-only.ts "$@" ;;
  *) say "unknown mode $mode"; exit 2 ;;
esac
