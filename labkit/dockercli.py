"""The Docker CLI, run the way the lab needs it: failures as one clear line, long work as progress.

We drive the ``docker`` command rather than a Python SDK so that every command a
notebook runs is one a student can copy into a terminal.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import deque
from collections.abc import Callable, Sequence

from .bilingual import say
from .errors import LabError

NOT_INSTALLED = say("the docker command is not installed; see the README's 'Docker' section",
                    "docker command install করা নেই; README-র 'Docker' অংশ দেখো")


def engine_version() -> str | None:
    """The Docker engine's version, or None when there is no CLI or no running engine."""
    if shutil.which("docker") is None:
        return None
    try:
        done = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                              capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def has_buildx() -> bool:
    """Whether ``docker buildx`` (BuildKit) is installed; Docker Desktop always has it."""
    return subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode == 0


def has_bridge_network() -> bool:
    """Whether the engine has its default bridge network (engines started with --bridge=none do not)."""
    return bool(run(["network", "ls", "--quiet", "--filter", "name=^bridge$"], what="network ls").strip())


def run(args: Sequence[str], *, what: str, timeout: float = 120, input: str | None = None) -> str:
    """Run ``docker ARGS`` and return its standard output.

    Raises:
        LabError: the command failed; the message names ``what`` and docker's own error line.
    """
    try:
        done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, input=input)
    except FileNotFoundError:
        raise LabError(NOT_INSTALLED) from None
    except subprocess.TimeoutExpired:
        raise LabError(say(f"docker {what} did not finish within {timeout:.0f} s",
                           f"docker {what} {timeout:.0f} s-এর মধ্যে শেষ হয়নি")) from None
    if done.returncode != 0:
        said = _last_line(done.stderr or done.stdout)
        raise LabError(say(f"docker {what} failed: {said}", f"docker {what} ব্যর্থ: {said}"))
    return done.stdout


def stream(args: Sequence[str], *, what: str, on_line: Callable[[str], None],
           env: dict[str, str] | None = None) -> list[str]:
    """Run ``docker ARGS``, passing each output line to ``on_line`` as it arrives.

    Returns:
        All output lines.

    Raises:
        LabError: the command failed; the message quotes its last output lines.
    """
    lines: list[str] = []
    try:
        process = subprocess.Popen(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, env=env)
    except FileNotFoundError:
        raise LabError(NOT_INSTALLED) from None
    with process:
        for line in process.stdout:
            lines.append(line.rstrip())
            on_line(lines[-1])
    if process.returncode != 0:
        tail = " | ".join(deque((line for line in lines if line.strip()), maxlen=3))
        raise LabError(say(f"docker {what} failed: {tail}", f"docker {what} ব্যর্থ: {tail}"))
    return lines


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines()
             if line.strip() and not re.match(r"(Run|See) 'docker .*--help'", line)]
    return lines[-1] if lines else "no output"
