#!/usr/bin/env bash
# What the docker sandbox's tests need, run by `npm test` before the tests: the project's engine
# (installed and started, or reused) and the sandbox image (built, or found up to date). Not part
# of scripts/setup.sh, which the start command needs too: a node that runs bubblewrap needs no Docker.
#
# Where the engine cannot start (no root, no cgroups, docker.io not installable), the reason goes
# to tools/docker-sandbox-unavailable and the docker tests are skipped with it, printed; anything
# else that fails (the image build) fails the test run.
set -euo pipefail
cd "$(dirname "$0")/.."
reason_file=tools/docker-sandbox-unavailable
mkdir -p tools
rm -f "$reason_file"
t0=$SECONDS
if ! out=$(bash scripts/docker-engine.sh start 2>&1); then
  echo "$out" >&2
  reason="the Docker engine cannot start here: $(echo "$out" | grep -v '^\s*$' | tail -n 1)"
  echo "$reason" >"$reason_file"
  echo "docker-for-tests: the docker sandbox tests will be skipped: $reason" >&2
  exit 0
fi
echo "$out" >&2
bash scripts/build-sandbox-images.sh
echo "docker-for-tests: engine and image ready in $((SECONDS - t0))s" >&2
