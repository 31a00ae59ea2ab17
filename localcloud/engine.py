"""The Docker engine, reached through the docker CLI (no SDK, no docker networks).

Every container the stand-in creates carries the Docker labels ``localcloud.home=<home>`` and
``localcloud.instance=<id>``, so ``down`` and a restart remove exactly those and nothing else.
Workloads (Lambda environments, Cloud Run instances) run with :data:`CONFINED`, in a network
namespace of their own (``--network none``) (:mod:`localcloud.bridge` reaches them), and removing a container
removes its anonymous volumes too.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import platform
import subprocess
import time

from localcloud import settings

LABEL_HOME = "localcloud.home"
LABEL_INSTANCE = "localcloud.instance"
# What every workload container gets besides ``--network none``: no capabilities, no way to gain privileges
# (a setuid binary in the image runs with the caller's ids), at most 1024 processes (Lambda's limit), and
# at most 2 MB of its output kept on the engine's disk (the engine's default json-file log grows without end;
# the stand-in reads a Lambda environment's output as it comes, and a Cloud Run instance's last lines).
CONFINED = ["--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--pids-limit", "1024",
            "--log-driver", "local", "--log-opt", "max-size=1m", "--log-opt", "max-file=2"]


class EngineError(RuntimeError):
    """A docker command failed; the message is docker's own last line."""


def cli() -> str:
    """The docker CLI command."""
    return settings.docker_cli()


def run(args: list[str], timeout: float = 120, what: str | None = None) -> str:
    """Run ``docker ARGS`` and return its stdout, or raise EngineError with docker's message."""
    try:
        done = subprocess.run([cli(), *args], capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise EngineError("the docker CLI is not installed") from None
    except subprocess.TimeoutExpired:
        raise EngineError(f"docker {what or args[0]} did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise EngineError(f"docker {what or args[0]}: {lines[-1] if lines else f'exit status {done.returncode}'}")
    return done.stdout


def available(timeout: float = 10) -> bool:
    """True when a Docker engine answers."""
    try:
        run(["version", "--format", "{{.Server.Version}}"], timeout=timeout)
    except EngineError:
        return False
    return True


def host_networking() -> bool:
    """Linux engines share the host's loopback with ``--network host``; Docker Desktop does not."""
    return platform.system() == "Linux"


@functools.cache
def cpu_count() -> int:
    """The CPUs the engine has (Docker Desktop's VM may have fewer than this machine); ``docker run --cpus``
    refuses more."""
    try:
        return max(1, int(run(["info", "--format", "{{.NCPU}}"], timeout=30).strip()))
    except (EngineError, ValueError):
        return os.cpu_count() or 1


def masked_volumes(volumes: list[str]) -> list[str]:
    """``docker run`` options that put an empty, read-only tmpfs where the image declares a ``VOLUME``.

    Docker would otherwise create an anonymous volume there: writable despite ``--read-only``, on the
    engine's disk, and left behind by ``docker rm`` without ``--volumes``.
    """
    options = []
    for path in volumes:
        line = io.StringIO()  # docker reads --mount as one CSV record: a path with a comma stays one field
        csv.writer(line).writerow(["type=tmpfs", f"destination={path}", "tmpfs-size=4096", "readonly"])
        options += ["--mount", line.getvalue().strip()]
    return options


def pid(container: str) -> int:
    """The host pid of a running container's first process; 0 when it is not running (or not there)."""
    try:
        return int(run(["inspect", "--format", "{{.State.Pid}}", container], timeout=30).strip() or 0)
    except (EngineError, ValueError):
        return 0


def image_config(reference: str) -> dict | None:
    """``docker image inspect`` of a local image, or None when the engine does not have it."""
    try:
        return json.loads(run(["image", "inspect", reference], timeout=30))[0]
    except EngineError:
        return None


def pull(reference: str, timeout: float = 900) -> None:
    """Pull an image (through the edge when the reference names it)."""
    run(["pull", "--quiet", reference], timeout=timeout, what=f"pull {reference}")


def containers(label: str, value: str) -> list[str]:
    """Ids of all containers, running or not, labelled ``label=value``."""
    out = run(["ps", "--all", "--quiet", "--filter", f"label={label}={value}"], timeout=30)
    return out.split()


def remove(ids: list[str], settle: float = 10) -> None:
    """Force-remove containers (stop and delete) with their anonymous volumes; missing ones are ignored.

    Returns once none of them exists any more (or after ``settle`` seconds): a container that ``--rm``
    is already removing makes ``docker rm`` fail while it still shows in ``docker ps --all``.
    """
    if not ids:
        return
    subprocess.run([cli(), "rm", "--force", "--volumes", *ids], capture_output=True, timeout=60)
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        if subprocess.run([cli(), "inspect", "--type", "container", *ids], capture_output=True,
                          timeout=30).stdout.strip() in (b"", b"[]"):
            return
        time.sleep(0.1)
