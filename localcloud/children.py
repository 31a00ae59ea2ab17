"""The processes a stand-in starts (the registry, host-mode RIEs), so that none outlives it.

They are started from one long-lived thread under ``setpriv --pdeathsig KILL`` (Linux),
so the kernel ends them when the stand-in dies, even by SIGKILL; and they are recorded
in pid files under ``home/run``, so the next start (or ``down``) ends any still running,
after checking the pid still runs the program it was recorded for.
"""

from __future__ import annotations

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


def record(home: Path, name: str, pid: int, program: str) -> None:
    (home / "run").mkdir(parents=True, exist_ok=True)
    (home / "run" / f"{name}.pid").write_text(f"{pid} {program}")


def forget(home: Path, name: str) -> None:
    (home / "run" / f"{name}.pid").unlink(missing_ok=True)


def kill_recorded(home: Path) -> int:
    """Kill every recorded process (and its process group) still running its program; returns how many."""
    killed = 0
    for path in (home / "run").glob("*.pid"):
        try:
            pid_text, program = path.read_text().split(" ", 1)
            pid = int(pid_text)
            if program.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.killpg(pid, signal.SIGKILL)
                killed += 1
        except (OSError, ValueError):
            pass
        path.unlink(missing_ok=True)
    return killed
