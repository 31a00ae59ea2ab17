#!/usr/bin/env bash
# Make AWS's Lambda base image public.ecr.aws/lambda/python:3.11 available locally:
#   1. already present        -> nothing to do;
#   2. `docker pull` works     -> the real image (a laptop with internet);
#   3. otherwise (offline CI)  -> build the offline replica: debootstrap -> docker import
#      -> Dockerfile (this folder), tagged with the real name so docker/Dockerfile builds
#      unchanged. The debootstrap root filesystem is cached as a tarball, so a rebuild
#      takes seconds. The replica carries the label org.serverless-iris.replica=true.
#
#   docker/lambda-base/build.sh [--rebuild]   # --rebuild: build the replica even if an image is present
#
# Environment: LAB_CACHE_DIR (default ~/.cache/serverless-iris), LAB_PULL_TIMEOUT (seconds,
# default 120), LAB_DEBIAN_MIRROR (default: read from this machine's apt sources),
# PYTHON (runs `-m lambda_rie`; default .venv/bin/python).
set -euo pipefail

IMAGE=public.ecr.aws/lambda/python:3.11
ROOTFS_IMAGE=serverless-iris/lambda-base-rootfs:bookworm
SUITE=bookworm   # Debian 12, whose python3 is 3.11 like the real image's
PACKAGES=python3,python3-pip,python3-venv,ca-certificates
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${LAB_CACHE_DIR:-$HOME/.cache/serverless-iris}/lambda-base
PYTHON=${PYTHON:-$REPO/.venv/bin/python}

say() { echo "lambda-base: $*"; }
die() { echo "lambda-base: error: $*" >&2; exit 1; }
present() { docker image inspect "$1" >/dev/null 2>&1; }

# Print a dot every 5 s while process $1 runs, then return its exit status.
wait_dots() {
  while kill -0 "$1" 2>/dev/null; do printf .; sleep 5; done
  echo
  wait "$1"
}

try_pull() {
  local out status=0
  if command -v timeout >/dev/null; then   # macOS has no timeout(1): pull unbounded there
    out=$(timeout "${LAB_PULL_TIMEOUT:-120}" docker pull -q "$IMAGE" 2>&1) || status=$?
  else
    out=$(docker pull -q "$IMAGE" 2>&1) || status=$?
  fi
  [ "$status" -eq 0 ] && return 0
  [ "$status" -eq 124 ] && out="no answer in ${LAB_PULL_TIMEOUT:-120} s"
  say "cannot pull $IMAGE (${out##*$'\n'}); building the offline replica"
  return 1
}

# The Debian mirror this machine's apt uses for $SUITE, from one-line (*.list) or
# deb822 (*.sources) apt sources; never a host name written into the repo.
debian_mirror() {
  if [ -n "${LAB_DEBIAN_MIRROR:-}" ]; then echo "$LAB_DEBIAN_MIRROR"; return; fi
  {
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
  } | awk -v suite="$SUITE" '$1 == "deb" { sub(/\[[^]]*\]/, ""); if ($3 == suite) print $2 }'
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true
  } | awk -v suite="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
      { types = suites = uris = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/) types = " " substr($i, 7) " "
          if ($i ~ /^Suites:/) suites = " " substr($i, 8) " "
          if ($i ~ /^URIs:/) uris = substr($i, 6)
          if ($i ~ /^Enabled:/) enabled = substr($i, 9)
        }
        if (types ~ / deb / && suites ~ (" " suite " ") && enabled !~ /no/) { split(uris, u, " "); print u[1] } }'
}

# The host's value of a pip option for builds inside the image. As in pip, PIP_<NAME>
# wins over config files; file:// indexes and local paths exist only on this machine.
host_pip_setting() {
  local env_name value word kept=""
  env_name="PIP_$(echo "$1" | tr 'a-z-' 'A-Z_')"
  # `pip config get` reads only the user's file; `pip config list` merges them all.
  value=${!env_name:-$("$PYTHON" -m pip config list 2>/dev/null | sed -n "s/^global\.$1='\(.*\)'\$/\1/p")}
  for word in $value; do
    case "$word" in file:*|/*) ;; *) kept="$kept $word" ;; esac
  done
  echo "${kept# }"
}

# pip settings a later `pip install` in the image needs: the CA bundle copied in (pip's
# vendored certifi does not trust a TLS-inspecting proxy), and the host's package index
# if it uses its own.
write_pip_conf() {
  local key value
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n'
  for key in index-url extra-index-url trusted-host; do
    value=$(host_pip_setting "$key")
    if [ -n "$value" ]; then echo "$key = $value"; fi
  done
}

build_rootfs() {   # $1: the tarball to write
  local mirror started=$SECONDS
  [ "$(uname -s)" = Linux ] || die "cannot pull $IMAGE, and the offline replica builds only on Linux: connect to the internet and run again"
  command -v debootstrap >/dev/null || die "debootstrap is missing; run scripts/ensure-docker.sh or apt-get install debootstrap"
  [ "$(id -u)" -eq 0 ] || die "building the replica needs root (debootstrap); run: sudo $0"
  mirror=$(debian_mirror | head -n 1)
  [ -n "$mirror" ] || die "no Debian $SUITE mirror in /etc/apt/sources.list*; set LAB_DEBIAN_MIRROR=URL"
  printf 'lambda-base: debootstrap %s from %s (about a minute, log %s) ' "$SUITE" "$mirror" "$CACHE/debootstrap.log"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$WORK/rootfs" "$mirror" \
    >"$CACHE/debootstrap.log" 2>&1 &
  wait_dots $! || die "debootstrap failed; see $CACHE/debootstrap.log"
  # Downloaded .debs and apt lists would only make the image bigger.
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$WORK/rootfs" -cf "$1.partial" .
  mv "$1.partial" "$1"
  say "root filesystem cached in $1 ($((SECONDS - started)) s)"
}

build_replica() {
  local arch rie tarball started=$SECONDS
  arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
  tarball="$CACHE/rootfs-$SUITE-$arch.tar"
  if [ ! -s "$tarball" ]; then
    build_rootfs "$tarball"
    docker image rm "$ROOTFS_IMAGE" >/dev/null 2>&1 || true   # stale: import the new tarball
  fi
  if ! present "$ROOTFS_IMAGE"; then
    say "importing $tarball as $ROOTFS_IMAGE"
    docker import --message "debootstrap $SUITE minbase + $PACKAGES" "$tarball" "$ROOTFS_IMAGE" >/dev/null
  fi

  # The build context: this folder's Dockerfile and entrypoint, the RIE, the CA bundle, pip.conf.
  [ -x "$PYTHON" ] || { PYTHON=python3; export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"; }
  [ "$arch" = arm64 ] && rie=arm64 || rie=x86_64
  rie=$("$PYTHON" -m lambda_rie --arch "$rie") || die "could not get the Runtime Interface Emulator (python -m lambda_rie)"
  mkdir "$WORK/context"
  cp "$HERE/Dockerfile" "$HERE/lambda-entrypoint.sh" "$WORK/context/"
  cp "$rie" "$WORK/context/aws-lambda-rie"
  chmod 0755 "$WORK/context/aws-lambda-rie" "$WORK/context/lambda-entrypoint.sh"
  if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$WORK/context/"
  else   # no bundle on this machine: keep the one Debian's ca-certificates made
    tar -xOf "$tarball" ./etc/ssl/certs/ca-certificates.crt >"$WORK/context/ca-certificates.crt"
  fi
  write_pip_conf >"$WORK/context/pip.conf"

  say "building $IMAGE from $ROOTFS_IMAGE (log $CACHE/build.log)"
  # --network host: the engine may run without a bridge network (scripts/ensure-docker.sh).
  docker build --network host --build-arg ROOTFS="$ROOTFS_IMAGE" -t "$IMAGE" "$WORK/context" 2>&1 \
    | tee "$CACHE/build.log" | grep --line-buffered -E '^(Step |#[0-9]+ \[)' | sed -u 's/^/lambda-base:   /' \
    || die "docker build failed; see $CACHE/build.log"
  docker run --rm --network host --entrypoint /var/lang/bin/python "$IMAGE" \
    -c 'import awslambdaric, sys; assert sys.version_info[:2] == (3, 11)' \
    || die "the replica does not run python 3.11 with awslambdaric; see $CACHE/build.log"
  say "replica $IMAGE ready: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1 / 1e6}'), built in $((SECONDS - started)) s"
}

main() {
  local rebuild=0
  case "${1:-}" in
    "") ;;
    --rebuild) rebuild=1 ;;
    *) die "unknown argument $1; usage: $0 [--rebuild]" ;;
  esac
  docker info >/dev/null 2>&1 || die "no Docker engine answers; run scripts/ensure-docker.sh first"
  if [ "$rebuild" -eq 0 ] && present "$IMAGE"; then say "$IMAGE is present"; return; fi
  if [ "$rebuild" -eq 0 ] && try_pull; then say "pulled $IMAGE"; return; fi

  mkdir -p "$CACHE"
  if command -v flock >/dev/null; then   # two builds at once would race on the cache and the tag
    exec 9>"$CACHE/lock"
    flock 9
    if [ "$rebuild" -eq 0 ] && present "$IMAGE"; then say "$IMAGE was built meanwhile"; return; fi
  fi
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  build_replica
}

main "$@"
