"""Leave nothing behind: every process a sandboxed child started, and every file it left in shared folders.

The grader and its fork server (:mod:`checks.sandbox.forkserver`) are child subreapers, so orphans of the
child (even ones that left its session with ``setsid``) are re-parented to one of them instead of to init,
and can be found and killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

SCRATCH_PREFIX = "lab-grade-"
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def become_subreaper() -> None:
    """Orphans of the child (even ones that left its session) become the grader's children, to be killed."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def remove_stale_scratch() -> None:
    """Scratch folders of graders that were killed before they could remove them (named after their pid)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def kill_everything(child, uid: int | None, before: set[int], adopters: set[int]) -> None:
    """The child's session, every process of its user id (only this run uses it) and orphans the ``adopters``
    (subreapers) took in since ``before``. ``child`` is a :class:`subprocess.Popen` or a fork server's child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    killed = set()
    for _ in range(100):
        left = [p for p in _processes(child.pid, uid, before, adopters) if p != child.pid]
        if not left:
            break
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed |= set(left)
        _reap(killed)
        time.sleep(0.02)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(5)
    _reap(killed)


def _reap(pids: set[int]) -> None:
    for pid in list(pids):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def children(parent: int | None = None) -> list[int]:
    """The live children of ``parent`` (this process by default)."""
    parent = os.getpid() if parent is None else parent
    return [pid for pid, ppid in _table() if ppid == parent]


def _table() -> list[tuple[int, int]]:
    """(pid, parent pid) of every live process."""
    rows = []
    for entry in _proc():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    rows.append((int(entry.name), int(fields[1])))
    return rows


def _processes(session: int, uid: int | None, before: set[int], adopters: set[int]) -> list[int]:
    """Live processes in the child's session, owned by its user id, or orphans the adopters took in."""
    found = []
    for entry in _proc():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] == "Z":
                continue
            owner = entry.stat().st_uid
            if int(fields[3]) == session or (uid is not None and owner == uid) or (
                    int(fields[1]) in adopters and int(entry.name) not in before):
                found.append(int(entry.name))
    return found


def remove_leftovers(uid: int | None) -> None:
    """Files and folders the untrusted user left in the shared temporary folders."""
    if uid is None:
        return
    for folder in {Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")}:
        with contextlib.suppress(OSError):
            for entry in folder.iterdir():
                with contextlib.suppress(OSError):
                    if entry.lstat().st_uid == uid:
                        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def _proc() -> list[Path]:
    """The process table (empty where there is no /proc, e.g. macOS: the process group kill still holds)."""
    return list(Path("/proc").iterdir()) if Path("/proc").is_dir() else []
