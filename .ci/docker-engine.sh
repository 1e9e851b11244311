#!/usr/bin/env bash
# Give this machine a working Docker engine without any container registry.
#   .ci/docker-engine.sh start   install docker.io if needed, start dockerd unless an engine answers
#   .ci/docker-engine.sh stop    stop the dockerd this script started (never someone else's)
#   .ci/docker-engine.sh status  exit 0 when an engine answers
# Environment: SESSIONBENCH_DOCKERD_PIDFILE, SESSIONBENCH_DOCKERD_LOG, SESSIONBENCH_DOCKERD_TIMEOUT (seconds).
set -euo pipefail

pidfile="${SESSIONBENCH_DOCKERD_PIDFILE:-/tmp/sessionbench-dockerd.pid}"
logfile="${SESSIONBENCH_DOCKERD_LOG:-/tmp/sessionbench-dockerd.log}"
timeout="${SESSIONBENCH_DOCKERD_TIMEOUT:-60}"

say() { echo "sessionbench ci: $*" >&2; }
die() { say "$*"; exit 1; }

engine_answers() {
    command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# A killed process lingers as a zombie (state Z, same name) until its parent reaps it: not alive.
alive() {
    [[ -r "/proc/$1/stat" && "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ]]
}

# The pid in our file counts only while that process is a live dockerd: a stale file must never
# make us signal an unrelated process that reused the pid.
our_pid() {
    [[ -s "$pidfile" ]] || return 1
    local pid
    pid="$(cat "$pidfile")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "dockerd" ]] || return 1
    alive "$pid" || return 1
    echo "$pid"
}

# dockerd refuses to start while its pid file names an existing process, and waits in vain for its
# containerd when that one's pid file does; a dockerd killed moments ago still exists as a zombie.
# A file naming no live process is safe to drop.
clear_stale_engine_pidfiles() {
    local file pid
    for file in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
        [[ -s "$file" ]] || continue
        pid="$(cat "$file")"
        if ! alive "$pid"; then
            rm -f "$file"
        fi
    done
}

install_engine() {
    say "installing docker.io from apt (dockerd not found)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # The package's own service scripts cannot run here (no init system); the package files are all we need.
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null
    command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is still missing"
}

start() {
    if engine_answers; then
        say "docker engine already answers; nothing to start"
        return 0
    fi
    command -v dockerd >/dev/null 2>&1 || install_engine
    local pid log_offset=1
    if ! pid="$(our_pid)"; then
        # --iptables=false: no netfilter here; published ports still work through docker-proxy on loopback.
        # No storage flag: dockerd picks overlay2 where the file system allows it (container start ~2 s here)
        # and falls back by itself elsewhere; vfs copies the whole image per container (~6 s here).
        # SESSIONBENCH_DOCKERD_STORAGE forces a driver on a host where the automatic choice misbehaves.
        local args=(--iptables=false --ip6tables=false)
        if [[ -n "${SESSIONBENCH_DOCKERD_STORAGE:-}" ]]; then
            args+=(--storage-driver="$SESSIONBENCH_DOCKERD_STORAGE")
        fi
        # setsid: dockerd must outlive this script and its caller's process group.
        clear_stale_engine_pidfiles
        log_offset=$(( $(stat -c %s "$logfile" 2>/dev/null || echo 0) + 1 ))
        setsid dockerd "${args[@]}" >>"$logfile" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$pidfile"
        say "started dockerd (pid $pid, log $logfile)"
    fi
    # Watch the pid itself, not its name: right after the fork the child is not yet called dockerd.
    local waited=0
    until engine_answers; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$pidfile"
            die "dockerd exited during start-up: $(tail -c "+$log_offset" "$logfile" | grep -v 'level=info' | tail -n 1)"
        fi
        if (( waited >= timeout )); then
            die "docker engine did not answer within ${timeout}s; see $logfile"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    say "docker engine ready"
}

stop() {
    local pid log_offset=1
    if ! pid="$(our_pid)"; then
        rm -f "$pidfile"
        say "no dockerd started by this script is running; leaving any other engine alone"
        return 0
    fi
    kill -TERM "$pid"
    # dockerd stops its containers first, which can take a while; give it the same bound as start.
    local waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if (( waited >= timeout )); then
            die "dockerd (pid $pid) did not exit within ${timeout}s"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    rm -f "$pidfile"
    say "stopped dockerd (pid $pid)"
}

status() {
    if engine_answers; then
        say "docker engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    else
        say "no docker engine answers"
        return 1
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start|stop|status" ;;
esac
