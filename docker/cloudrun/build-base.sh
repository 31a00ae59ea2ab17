#!/usr/bin/env bash
# Make the Cloud Run image's base python:3.11-slim available locally:
#   1. already present        -> nothing to do;
#   2. `docker pull` works     -> the real image;
#   3. otherwise (offline CI)  -> the replica in Dockerfile.base, built on the root filesystem
#      of the Lambda base replica (docker/lambda-base/build.sh, run first), tagged with the
#      real name so docker/cloudrun/Dockerfile builds unchanged.
#
#   docker/cloudrun/build-base.sh [--rebuild]
#
# Environment: LAB_PULL_TIMEOUT (seconds, default 120).
set -euo pipefail

IMAGE=python:3.11-slim
HERE=$(cd "$(dirname "$0")" && pwd)

say() { echo "cloudrun-base: $*"; }
die() { echo "cloudrun-base: error: $*" >&2; exit 1; }
present() { docker image inspect "$1" >/dev/null 2>&1; }

try_pull() {
  local out status=0
  out=$(timeout "${LAB_PULL_TIMEOUT:-120}" docker pull -q "$IMAGE" 2>&1) || status=$?
  [ "$status" -eq 0 ] && return 0
  [ "$status" -eq 124 ] && out="no answer in ${LAB_PULL_TIMEOUT:-120} s"
  say "cannot pull $IMAGE (${out##*$'\n'}); building the offline replica"
  return 1
}

rebuild=0
case "${1:-}" in
  "") ;;
  --rebuild) rebuild=1 ;;
  *) die "unknown argument $1; usage: $0 [--rebuild]" ;;
esac
docker info >/dev/null 2>&1 || die "no Docker engine answers; run scripts/ensure-docker.sh first"
if [ "$rebuild" -eq 0 ] && present "$IMAGE"; then say "$IMAGE is present"; exit 0; fi
if [ "$rebuild" -eq 0 ] && try_pull; then say "pulled $IMAGE"; exit 0; fi

"$HERE/../lambda-base/build.sh"   # the root filesystem, CA bundle and pip settings the replica starts from
present serverless-iris/lambda-base-rootfs:bookworm \
  || die "the Lambda base was pulled, not replicated, yet $IMAGE cannot be pulled; check the network and run again"
started=$SECONDS
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$HERE/Dockerfile.base" "$WORK/Dockerfile"
# --network host: the engine may run without a bridge network (scripts/ensure-docker.sh).
docker build --quiet --network host -t "$IMAGE" "$WORK" >/dev/null || die "docker build of the replica failed"
docker run --rm --network host "$IMAGE" python -c 'import sys; assert sys.version_info[:2] == (3, 11)' \
  || die "the replica does not run python 3.11"
say "replica $IMAGE ready: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1 / 1e6}'), built in $((SECONDS - started)) s"
