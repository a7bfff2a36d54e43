#!/usr/bin/env bash
# The Docker engine of the docker sandbox (src/adapters/executor/dockerSandbox.ts): a dockerd of its
# own, with its own data root, exec root, socket and pid file, so it neither needs nor disturbs a
# system Docker. Installs Debian's docker.io when dockerd is missing.
#
#   bash scripts/docker-engine.sh start    start it, or reuse the one an earlier run started
#   bash scripts/docker-engine.sh stop     stop the one the pid file names
#   bash scripts/docker-engine.sh status   exit 0 when it answers
#   bash scripts/docker-engine.sh socket   print its socket path
#
# EC_DOCKER_ROOT (default /var/lib/edgecoder-docker) holds images and containers, so images built once
# serve every checkout on the machine; EC_DOCKER_RUN (default /run/edgecoder-docker) holds the socket,
# the pid file and containerd's state. The sandbox's default socket is $EC_DOCKER_RUN/docker.sock.
set -euo pipefail
root=${EC_DOCKER_ROOT:-/var/lib/edgecoder-docker}
run=${EC_DOCKER_RUN:-/run/edgecoder-docker}
sock="$run/docker.sock"
pidfile="$run/dockerd.pid"
log="$root/dockerd.log"
# No variable of the caller's (tokens, DOCKER_HOST, proxies) reaches the engine or the client.
clean_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)

say() { echo "docker-engine: $*" >&2; }

answers() { "${clean_env[@]}" DOCKER_CONFIG="$root/cli" docker -H "unix://$sock" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The pid file's dockerd is running: not gone, not a zombie (an engine killed after the shell that
# started it ended is re-parented to a pid 1 that may never reap it), not a reused pid.
alive() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(ps -o stat=,comm= -p "$pid" 2>/dev/null | awk '$1 !~ /^Z/ {print $2}')" = dockerd ]
}

install() {
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -ne 0 ]; then say "dockerd is missing and installing it needs root (apt-get install docker.io)"; return 1; fi
  say "installing Debian's docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
}

start() {
  if answers; then say "reusing the engine at unix://$sock (pid $(cat "$pidfile" 2>/dev/null || echo '?'))"; return 0; fi
  install
  if [ "$(id -u)" -ne 0 ]; then say "starting dockerd needs root"; return 1; fi
  if ! alive; then
    # A pid file and socket left by an engine that was killed would stop the new one from starting.
    rm -f "$pidfile" "$sock"
    mkdir -p "$root/data" "$run/exec"
    chmod 0711 "$root" "$run"
    local t0=$SECONDS
    # setsid: the engine outlives this script and the test run that started it, so the next run reuses it.
    # cgroupfs: there is no systemd to delegate cgroups to; the cgroup parent keeps its containers apart
    # from a system Docker's, and so does the containerd namespace when a system containerd is used.
    "${clean_env[@]}" setsid dockerd \
      --data-root "$root/data" --exec-root "$run/exec" --pidfile "$pidfile" -H "unix://$sock" \
      --iptables=false --ip6tables=false --bridge=none --ip-forward=false --ip-masq=false \
      --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent=/edgecoder-sandbox \
      --containerd-namespace edgecoder --containerd-plugins-namespace edgecoder-plugins \
      --no-new-privileges --log-driver none --default-ipc-mode private --default-cgroupns-mode private \
      --log-level warn </dev/null >>"$log" 2>&1 &
  fi
  for _ in $(seq 1 300); do
    if answers; then say "engine up at unix://$sock in $((SECONDS - ${t0:-SECONDS}))s (log $log)"; return 0; fi
    if [ -n "${t0:-}" ] && ! alive && [ $((SECONDS - t0)) -gt 2 ]; then break; fi
    sleep 0.1
  done
  say "dockerd did not answer at unix://$sock; the end of $log:"
  tail -n 20 "$log" >&2 || true
  return 1
}

stop() {
  if ! alive; then say "no engine running (pid file $pidfile)"; rm -f "$pidfile"; return 0; fi
  local pid
  pid=$(cat "$pidfile")
  kill -TERM "$pid"
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || { say "stopped (pid $pid)"; return 0; }; sleep 0.1; done
  say "dockerd (pid $pid) still running after 20 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile" "$sock"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if answers; then echo "running at unix://$sock"; else echo "not running"; exit 1; fi ;;
  socket) echo "$sock" ;;
  *) echo "usage: $0 start|stop|status|socket" >&2; exit 2 ;;
esac
