#!/usr/bin/env bash
# Everything a fresh machine lacks: npm packages, nats-server 2.10 (project-local), a build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
bash scripts/install-nats.sh
npm run --silent build
