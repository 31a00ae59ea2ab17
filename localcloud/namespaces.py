"""Host-mode workloads in namespaces of their own, as a user of their own (the stand-in's side of :mod:`.confine`).

Where the stand-in runs as root and ``unshare`` works, :func:`command` wraps a workload's command line so
that it runs as the first process of new network, IPC, PID and mount namespaces, as a fresh unprivileged user
with no capabilities, in a root of its own that holds only system folders, the interpreter and its binds, read-only but a private ``/tmp`` (see :mod:`localcloud.confine`);
the stand-in reaches its port with a :class:`localcloud.bridge.Bridge`. :func:`unavailable` says, once per
process, why that cannot be done here (not root, no ``unshare``, or a trial run failed); the workload then
runs as before, as the stand-in's user on its loopback (the README says what that leaves open).
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import secrets
import shutil
import site
import subprocess
import sys
from pathlib import Path

CONFINE = Path(__file__).resolve().with_name("confine.py")
UNSHARE = shutil.which("unshare")
USER_IDS = (200_000, 2_000_000_000)  # a fresh, unused user id per workload
TMP_MB = 512  # Lambda's default ephemeral storage


def new_user() -> int:
    """A user (and group) id that no account of this machine has."""
    while True:
        uid = USER_IDS[0] + secrets.randbelow(USER_IDS[1] - USER_IDS[0])
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid


def interpreter_paths() -> list[str]:
    """What a workload running this Python needs to read: its prefixes, its packages, the executable's folder."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), *site.getsitepackages()}
    return sorted(path for path in paths if path)


def command(inner: list[str], *, uid: int, binds: list[tuple[str, str]], workdir: str, memory_mb: int | None = None,
            cpus: float | None = None) -> list[str]:
    """``inner`` confined: ``binds`` are (path here, path inside) pairs, read-only; ``workdir`` is inside; with
    ``memory_mb``, in a cgroup of its own with that memory and ``cpus`` (required when :func:`unlimited` says
    cgroups work here)."""
    return _confined(inner, {"uid": uid, "binds": binds, "workdir": workdir, "memory_mb": memory_mb, "cpus": cpus,
                             "limits_required": bool(memory_mb) and unlimited() is None})


def _confined(inner: list[str], spec: dict) -> list[str]:
    spec = {"gid": spec["uid"], "visible": interpreter_paths(), "tmp_mb": TMP_MB, **spec}
    return [UNSHARE, "--net", "--ipc", "--pid", "--mount", "--fork", "--kill-child", "--",
            sys.executable, "-I", "-S", str(CONFINE), json.dumps(spec), "--", *inner]


@functools.cache
def unavailable() -> str | None:
    """None when workloads can be confined here; otherwise the reason, in a few words (tried once, and
    printed to the stand-in's log)."""
    reason = _why_not()
    if reason:
        print(f"localcloud: host-mode functions run unconfined, as this user on the host's loopback: {reason}",
              flush=True)
    return reason


@functools.cache
def unlimited() -> str | None:
    """None when confined workloads can be held to a memory and CPU limit (a cgroup each); otherwise the reason
    (tried once, and printed to the stand-in's log)."""
    if unavailable():
        return unavailable()
    trial = _confined([sys.executable, "-I", "-c", "pass"], {"uid": new_user(), "binds": [], "workdir": "/",
                                                           "memory_mb": 128, "cpus": 1, "limits_required": True})
    try:
        done = subprocess.run(trial, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        reason = done.stderr.strip().splitlines()[-1] if done.returncode else None
    except (OSError, subprocess.SubprocessError, IndexError) as error:
        reason = f"a trial run failed: {error}"
    if reason:
        print(f"localcloud: host-mode functions have no memory or CPU limit: {reason}", flush=True)
    return reason


def _why_not() -> str | None:
    if sys.platform != "linux" or os.geteuid() != 0:
        return "the stand-in does not run as root on Linux"
    if not UNSHARE:
        return "no unshare command (util-linux)"
    trial = _confined([sys.executable, "-I", "-c", "import awslambdaric"], {"uid": new_user(), "binds": [], "workdir": "/"})
    try:
        done = subprocess.run(trial, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as error:
        return f"a confined trial run failed: {error}"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return f"a confined trial run failed: {lines[-1] if lines else f'status {done.returncode}'}"
    return None
