#!/usr/bin/env bash
# Make a Docker engine available to the lab.
#   exit 0: an engine answers `docker info` (one already running is left alone);
#   exit 3: no engine here and none can be started: the lab continues in host mode
#           (exit 1 instead when LAB_REQUIRE_DOCKER=1, as in CI).
# On Linux as root with apt, installs what is missing (docker.io docker-registry
# debootstrap) and starts dockerd in the background with no bridge network.
#
#   scripts/ensure-docker.sh
#
# Environment: LAB_DOCKER_LOG_DIR (dockerd and apt logs, default /var/log/serverless-iris),
# LAB_DOCKER_WAIT (seconds to wait for the engine, default 60).
set -euo pipefail

LOG_DIR=${LAB_DOCKER_LOG_DIR:-/var/log/serverless-iris}
WAIT=${LAB_DOCKER_WAIT:-60}

engine_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

# Process $1 runs (kill -0 alone would also accept our own exited, unreaped child).
running() {
  local state=""
  read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" || return 1
  [ "$state" != Z ]
}

# One line, then the exit status callers read as "no engine".
no_engine() {
  if [ "${LAB_REQUIRE_DOCKER:-0}" = 1 ]; then
    echo "ensure-docker: error: $1 (LAB_REQUIRE_DOCKER=1 needs an engine)" >&2
    exit 1
  fi
  echo "ensure-docker: $1; the lab continues in host mode." >&2
  exit 3
}

# Which of docker.io, docker-registry, debootstrap lack their program (a dockerd from
# docker-ce counts: installing docker.io over it would conflict).
missing_packages() {
  local missing=""
  { command -v dockerd && command -v docker; } >/dev/null || missing="$missing docker.io"
  command -v docker-registry >/dev/null || missing="$missing docker-registry"
  command -v debootstrap >/dev/null || missing="$missing debootstrap"
  echo "${missing# }"
}

install_packages() {
  local own_policy=0
  echo "ensure-docker: installing $* (log $LOG_DIR/apt.log)"
  # Trap: docker.io's postinst starts the service with the default bridge network
  # (a private 172.17.0.0/16 range). A policy-rc.d answering 101 forbids that.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local status=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } \
    >>"$LOG_DIR/apt.log" 2>&1 || status=$?
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ "$status" -eq 0 ] || no_engine "could not install $* (see $LOG_DIR/apt.log)"
}

start_dockerd() {
  local pid
  # A dockerd that is still starting (another run of this script) owns the pid file: wait for it.
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -n "$pid" ] && running "$pid"; then
    printf 'ensure-docker: waiting for dockerd (pid %s) ' "$pid"
  else
    printf 'ensure-docker: starting dockerd (log %s/dockerd.log) ' "$LOG_DIR"
    # No bridge, no iptables: containers use --network host and all traffic stays on
    # 127.0.0.1; never create a private-range network. setsid: outlives make and Ctrl-C.
    # 9>&-: dockerd must not inherit (and hold forever) the lock taken in main.
    setsid dockerd --bridge=none --iptables=false --ip-masq=false >>"$LOG_DIR/dockerd.log" 2>&1 </dev/null 9>&- &
    pid=$!
  fi
  local waited=0
  until engine_answers; do
    if ! running "$pid" && ! engine_answers; then
      echo
      no_engine "dockerd exited: $(tail -n 1 "$LOG_DIR/dockerd.log" 2>/dev/null)"
    fi
    if [ "$waited" -ge "$WAIT" ]; then
      echo
      no_engine "dockerd did not answer within $WAIT s (see $LOG_DIR/dockerd.log)"
    fi
    printf .
    sleep 1
    waited=$((waited + 1))
  done
  echo " ready"
}

main() {
  if engine_answers; then
    echo "ensure-docker: Docker engine $(docker info -f '{{.ServerVersion}}' 2>/dev/null) is running"
    return 0
  fi
  case "$(uname -s)" in
    Linux) ;;
    Darwin | MINGW* | MSYS* | CYGWIN*)
      no_engine "no Docker engine answers: start Docker Desktop (install it from docs.docker.com if needed) and run make again" ;;
    *) no_engine "no Docker engine answers and this script starts one only on Linux" ;;
  esac
  if [ "$(id -u)" -ne 0 ]; then
    no_engine "no Docker engine answers: start it (sudo systemctl start docker, or sudo $0) or join the docker group, then run make again"
  fi
  mkdir -p "$LOG_DIR"
  exec 9>"$LOG_DIR/ensure-docker.lock"
  flock 9   # two runs at once (make -j, a second terminal): the second waits, then finds the engine
  if engine_answers; then echo "ensure-docker: Docker engine is running"; return 0; fi
  local missing
  missing=$(missing_packages)
  if [ -n "$missing" ]; then
    command -v apt-get >/dev/null || no_engine "no Docker engine, and no apt-get to install $missing: install Docker, then run make again"
    # shellcheck disable=SC2086  # one package per word
    install_packages $missing
  fi
  start_dockerd
}

main "$@"
