"""The processes a stand-in starts (the registry, host-mode RIEs), so that none outlives it.

They are started from one long-lived thread under ``setpriv --pdeathsig KILL`` (Linux),
so the kernel ends them when the stand-in dies, even by SIGKILL; and they are recorded
in pid files under ``home/run``, so the next start (or ``down``) ends any still running,
after checking the pid still runs the program it was recorded for. Each child leads its
own session, and what it started (the host-mode runtime under its RIE) stays in that
session: ``kill_recorded`` ends the whole session, even when its leader is already gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# PR_SET_PDEATHSIG fires when the *thread* that started the child exits: use one that lives as long as we do
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")
_SETPRIV = shutil.which("setpriv") if sys.platform == "linux" else None


def spawn(command: list[str], **popen) -> subprocess.Popen:
    """``subprocess.Popen(command, **popen)``, tied to this process's life where the platform allows."""
    prefix = [_SETPRIV, "--pdeathsig", "KILL", "--"] if _SETPRIV else []
    return _spawner.submit(subprocess.Popen, [*prefix, *command], **popen).result()


def record(home: Path, name: str, pid: int, *programs: str) -> None:
    """Note a child (a session leader) and the programs its session may run."""
    (home / "run").mkdir(parents=True, exist_ok=True)
    (home / "run" / f"{name}.pid").write_text(f"{pid} {'|'.join(programs)}")


def forget(home: Path, name: str) -> None:
    (home / "run" / f"{name}.pid").unlink(missing_ok=True)


def session_members(session: int) -> list[int]:
    """The pids of every process in a session (Linux: field 6 of /proc/PID/stat)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session:
            members.append(int(stat.parent.name))
    return members


def children_of(pid: int) -> list[int]:
    """The pids of a process's children (Linux: /proc/PID/task/*/children); none when it is gone."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def kill_recorded(home: Path) -> int:
    """Kill every process of each recorded session still running one of its programs; returns how many."""
    killed = 0
    for path in (home / "run").glob("*.pid"):
        try:
            pid_text, programs = path.read_text().split(" ", 1)
            session = int(pid_text)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            continue
        for pid in session_members(session):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                if any(program.encode() in command for program in programs.split("|")):
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
            except OSError:
                pass
        path.unlink(missing_ok=True)
    return killed
