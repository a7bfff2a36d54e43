#!/usr/bin/env bash
# Installs nats-server 2.10 from Debian trixie into tools/nats-server, without touching the
# system's apt configuration: a private sources list, lists folder and cache under tools/apt.
# Debian bookworm's own 2.9.10 is too old (nats-server #4320, no sync_interval, no multi-filter
# consumers), see docs/decisions.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/tools"
bin="$tools/nats-server/usr/sbin/nats-server"
want_minor=10

version_ok() {
  local v
  v=$("$1" --version 2>/dev/null | sed -n 's/^nats-server: v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  [ -n "$v" ] || return 1
  set -- $v
  [ "$1" -gt 2 ] || { [ "$1" -eq 2 ] && [ "$2" -ge "$want_minor" ]; }
}

if [ -x "$bin" ] && version_ok "$bin"; then
  echo "nats-server: $("$bin" --version) at $bin"
  exit 0
fi

apt_dir="$tools/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
  > "$apt_dir/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::Cache::Archives=$apt_dir/cache/archives"
  -o "APT::Sandbox::User=root"
)
apt-get "${apt_opts[@]}" -qq update
(cd "$apt_dir/debs" && rm -f nats-server_*.deb && apt-get "${apt_opts[@]}" -qq download nats-server)
rm -rf "$tools/nats-server"
dpkg -x "$apt_dir/debs"/nats-server_*.deb "$tools/nats-server"
version_ok "$bin" || { echo "install-nats: $bin is not nats-server >= 2.$want_minor" >&2; exit 1; }
echo "nats-server: $("$bin" --version) installed at $bin"
