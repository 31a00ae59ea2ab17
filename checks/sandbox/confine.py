"""Without Docker: confine a sandbox process with the kernel's own mechanisms, where the system allows it.

Called in the child between fork and exec (``preexec_fn``). With the privilege to do so
(root, as in CI), the child gets its own mount namespace in which every filesystem is
read-only except its scratch folder, a private ``/dev/shm``, its own network namespace
(loopback only, down) for steps that need no network, and no capabilities at all: it
cannot remount, write the grader's files or another submission, or reach the network.
Where the system refuses (an unprivileged user), the child runs without these, and the
report says it was not sandboxed.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, LAST_CAPABILITY = 24, 38, 63
KEEP_WRITABLE = ("/proc", "/sys", "/dev")  # kernel interfaces; devices are not files a submission can plant
UNTRUSTED_UIDS = (200_000, 2_000_000_000)  # a fresh, unused user id per run (root only)
FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def confine(writable: Path, network: bool, drop: bool = True) -> bool:
    """Make everything but ``writable`` read-only (and the network unreachable unless ``network``); drop
    every capability (unless ``drop`` is False: the caller changes user next). Returns False, changing
    nothing that matters, where the system does not allow it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS | (0 if network else CLONE_NEWNET)) != 0:
        return False
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    folder = str(writable).encode()
    if libc.mount(folder, folder, None, MS_BIND, None) != 0:  # its own mount: it stays writable
        return False
    libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV, b"size=64m")  # gone with the namespace
    for target, options in _mounts():
        if target == str(writable) or target == "/dev/shm" or target.startswith(KEEP_WRITABLE):
            continue
        kept = sum(flag for name, flag in FLAGS.items() if name in options)
        libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept, None)
    if drop:
        _drop_capabilities(libc)
    return True


def works(python: str, scratch: Path) -> bool:
    """Whether confining works here: a confined child can write its folder and nothing else."""
    (scratch / "w").mkdir()
    script = ("import sys\ntry:\n    open(sys.argv[1], 'w').close()\n    sys.exit(1)\nexcept OSError:\n    pass\n"
              "open(sys.argv[2] + '/ok', 'w').close()")
    try:
        done = subprocess.run([python, "-I", "-c", script, str(scratch / "outside"), str(scratch / "w")],
                              preexec_fn=lambda: confine(scratch / "w", False) or os._exit(2),
                              capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and not (scratch / "outside").exists()


def _mounts() -> list[tuple[str, str]]:
    """(mount point, options) of every mount, as the kernel lists them (octal escapes decoded)."""
    rows = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        rows.append((fields[4].encode().decode("unicode_escape"), fields[5]))
    return rows


def _drop_capabilities(libc) -> None:
    """No capability now, none after exec (an empty bounding set), and no setuid binary to regain one."""
    for capability in range(LAST_CAPABILITY + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
    libc.capset(ctypes.byref(header), data)
    os.umask(0o077)


def untrusted_uid(repo: Path) -> int | None:
    """A user id nobody uses, so that its processes and files are exactly the child's.

    Only when the grader runs as root, and only when that user can run this interpreter and read
    the lab (an interpreter under a private home, e.g. /root/.pyenv, cannot be): None otherwise.
    """
    if os.geteuid() != 0 or not _interpreter_shared(repo):
        return None
    return UNTRUSTED_UIDS[0] + secrets.randbelow(UNTRUSTED_UIDS[1] - UNTRUSTED_UIDS[0])


@functools.cache
def confinable() -> bool:
    """Whether this system lets the grader confine a child (:mod:`checks.sandbox.confine`); tried once."""
    with tempfile.TemporaryDirectory(prefix="lab-grade-probe-") as folder:
        Path(folder).chmod(0o755)
        return works(sys.executable, Path(folder))


@functools.cache
def _interpreter_shared(repo: Path) -> bool:
    uid = UNTRUSTED_UIDS[0] - 1

    def drop():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    probe = f"import sys; sys.path.insert(0, {str(repo)!r}); import numpy, labkit.todo, checks.probes"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run([sys.executable, "-I", "-c", probe], cwd="/", preexec_fn=drop, capture_output=True,
                              timeout=60).returncode == 0
    return False
