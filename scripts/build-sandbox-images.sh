#!/usr/bin/env bash
# Builds the docker sandbox's image locally, from Debian's packages only (no image registry is
# needed or asked): a minbase Debian root with python3 and nodejs, setuid bits removed,
# imported into the engine as edgecoder-sandbox:$version.
#
#   bash scripts/build-sandbox-images.sh
#
# Starts the project's own engine first (scripts/docker-engine.sh) unless EC_DOCKER_SOCKET names
# another one. Cached: nothing is done when the image exists and was built from this very script
# (its hash is the image's edgecoder.inputs label); change the recipe and it is rebuilt.
# The version must match sandboxImage in src/adapters/executor/dockerSandbox.ts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=1
image="edgecoder-sandbox:$version"
suite=bookworm
mirror=${EC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=python3,nodejs
root=${EC_DOCKER_ROOT:-/var/lib/edgecoder-docker}

say() { echo "build-sandbox-images: $*" >&2; }

if [ -z "${EC_DOCKER_SOCKET:-}" ]; then
  bash "$here/docker-engine.sh" start
  sock=$(bash "$here/docker-engine.sh" socket)
else
  sock=$EC_DOCKER_SOCKET
fi
docker_cli() { env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DOCKER_CONFIG="$root/cli" docker -H "unix://$sock" "$@"; }

inputs=$( (cat "$0"; echo "$suite $mirror $packages") | sha256sum | cut -d' ' -f1)
have=$(docker_cli image inspect "$image" --format '{{index .Config.Labels "edgecoder.inputs"}}' 2>/dev/null || true)
if [ "$have" = "$inputs" ]; then
  say "$image is up to date"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then say "building $image needs root (debootstrap)"; exit 1; fi
if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

t0=$SECONDS
mkdir -p "$root/build" "$root/debootstrap-cache"
work=$(mktemp -d "$root/build/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
say "building $image from Debian $suite ($packages); the log is $work.log"
if ! debootstrap --variant=minbase --include="$packages" --cache-dir="$root/debootstrap-cache" \
    "$suite" "$work" "$mirror" >"$work.log" 2>&1; then
  tail -n 30 "$work.log" >&2
  say "debootstrap failed (log $work.log)"
  exit 1
fi
# Nothing a run needs: package lists and caches, documentation. Setuid and setgid bits go too, so
# no program in the image can gain privileges even if no-new-privileges were lifted.
rm -rf "$work"/var/cache/apt/* "$work"/var/lib/apt/lists/* "$work"/usr/share/doc/* "$work"/usr/share/man/* \
  "$work"/usr/share/info/* "$work"/usr/share/locale/*
find "$work" -xdev -type f -perm /6000 -exec chmod ug-s {} +
# debootstrap copies the build host's resolver and names; a run sees none of the host's.
: >"$work/etc/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$work/etc/hosts"
echo sandbox >"$work/etc/hostname"
# runc gives a tmpfs the mode of the folder it is mounted on: /work must be writable by nobody.
install -d -m 1777 "$work/work"
tar --numeric-owner -C "$work" -c . | docker_cli import \
  --change "LABEL edgecoder.inputs=$inputs" \
  --change 'ENV PATH=/usr/bin:/bin' --change 'USER 65534:65534' --change 'WORKDIR /work' \
  - "$image" >/dev/null
# The image this one replaces, if any.
docker_cli image prune -f >/dev/null
rm -f "$work.log"
say "$image built in $((SECONDS - t0))s ($(docker_cli image inspect "$image" --format '{{.Size}}' | awk '{printf "%d MB", $1/1e6}'))"
