#!/usr/bin/env bash
# Everything a fresh machine lacks: npm packages, nats-server 2.10 (project-local), bubblewrap, a build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
bash scripts/install-nats.sh
# bubblewrap runs generated code (src/adapters/executor/bwrapSandbox.ts); setpriv and prlimit come
# with util-linux, which every Debian has.
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then echo "setup: bubblewrap is missing; install it (apt-get install bubblewrap) as root" >&2; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
fi
bwrap --version
npm run --silent build
