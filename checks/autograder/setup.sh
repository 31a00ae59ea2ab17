#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu). Idempotent: whatever is
# already there is not installed again, so running it twice (or in a test, where everything is there) is quick.
#   AUTOGRADER_ROOT        the /autograder tree (default /autograder; a test's temporary folder)
#   LAB_AUTOGRADER_PYTHON  an interpreter that already has requirements.txt: no venv is made, pip runs only
#                          for a pin it does not satisfy (the tests use it; Gradescope does not set it)
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
cd "$SOURCE"
export DEBIAN_FRONTEND=noninteractive

missing=()
python311() {  # the first Python 3.11 found
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys, ensurepip; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    return 1
}
if [ -z "${LAB_AUTOGRADER_PYTHON:-}" ] && [ ! -x "$ROOT/venv/bin/python" ] && ! python311 >/dev/null; then
    missing+=(python3.11 python3.11-venv)
fi
command -v docker-registry >/dev/null || missing+=(docker-registry)  # the stand-in's registry, run in host mode
command -v unshare >/dev/null || missing+=(util-linux)              # host-mode functions, confined
command -v git >/dev/null || missing+=(git)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates
fi

if [ -n "${LAB_AUTOGRADER_PYTHON:-}" ]; then
    PY="$LAB_AUTOGRADER_PYTHON"
else
    if [ ! -x "$ROOT/venv/bin/python" ]; then
        base="$(python311)" || { echo "setup.sh: no Python 3.11 on this image (the lab needs 3.11)" >&2; exit 1; }
        "$base" -m venv "$ROOT/venv"
    fi
    PY="$ROOT/venv/bin/python"
fi
if ! "$PY" checks/autograder/pins.py requirements.txt >/dev/null; then
    echo "setup.sh: installing the Python requirements"
    "$PY" -m pip install --quiet --upgrade pip
    "$PY" -m pip install --quiet -r requirements.txt
fi
echo "$PY" > "$SOURCE/.python"  # run_autograder's interpreter
# the sandbox runs student code as a user of its own: it must reach the interpreter and the grader, never write them
chmod o+rx "$ROOT"
chmod -R o+rX,go-w "$SOURCE"

PYTHONPATH="$SOURCE" "$PY" -m lambda_rie >/dev/null  # the Runtime Interface Emulator, fetched once (cached)
echo "setup.sh: ready ($("$PY" --version), $(command -v docker-registry))"
