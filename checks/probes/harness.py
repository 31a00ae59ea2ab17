"""What every probe uses in the child: call student code, import the submission, answer in plain data.

Student code is called with a time limit and whatever it returns or raises becomes plain data
(:func:`call`, :func:`plain`); its modules are imported as the package ``submission`` from the
read-only copy the grader made, and the reference solution and the stand-in cannot be imported.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import math
import os
import signal
import sys
import time
from pathlib import Path

from labkit.todo import open_todo

from ..sandbox import protocol

PACKAGE = "submission"
FORBIDDEN = ("lab_solution", "exercises", "localcloud")  # the answer, and the stand-in's insides
CALL_SECONDS = 20  # one call of student code; the whole probe has the step's budget


class Blocked(importlib.abc.MetaPathFinder):
    """Submissions stand alone with labkit: importing the reference solution fails."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(f"{name} is not available to a submission; use labkit")
        return None


class CallTimeout(BaseException):
    """One call of student code ran longer than :data:`CALL_SECONDS`."""


def plain(value: object, depth: int = 0) -> object:
    """JSON-safe data: what the student's code returned, never an object of theirs."""
    if value is None or isinstance(value, (bool, int, str)):
        return value[:20_000] if isinstance(value, str) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if depth < 6 and isinstance(value, dict):
        return {str(k)[:200]: plain(v, depth + 1) for k, v in list(value.items())[:200]}
    if depth < 6 and isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in list(value)[:2000]]
    return {"type": type(value).__name__, "repr": _safe_repr(value)}


def _safe_repr(value: object) -> str:
    try:
        return repr(value)[:200]
    except BaseException:  # noqa: BLE001 - a hostile __repr__
        return "?"


def describe(error: BaseException) -> dict:
    """An exception as data: its type, first line, and the ``TODO still open`` line if it is one."""
    try:
        text = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
    except BaseException:  # noqa: BLE001
        text = ""
    return {"error": f"{type(error).__name__}: {text}".rstrip(": "), "todo": open_todo(error)}


def call(function, *args, **kwargs) -> dict:
    """Run student code with a time limit; ``{"value": ...}`` or ``{"error": ..., "todo": ...}``."""
    return call_within(CALL_SECONDS, function, *args, **kwargs)


def call_within(seconds: float, function, *args, **kwargs) -> dict:
    """:func:`call` with another time limit (a call that waits for the cloud); inside another call, the outer
    call's limit still holds."""
    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    limit = min(seconds, outer) if outer else seconds
    previous = signal.signal(signal.SIGALRM, _alarm)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return {"value": function(*args, **kwargs)}
    except CallTimeout:
        return {"error": f"did not return within {limit:.0f} s", "todo": None}
    except BaseException as error:  # noqa: BLE001 - SystemExit and friends become data too
        return describe(error)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 0.001))


def _alarm(signum, frame):
    raise CallTimeout()


def submission_path() -> Path:
    return Path(os.environ[protocol.SUBMISSION])


def import_module(module: str, alias: str | None = None):
    """Import ``module`` of the submission (as ``submission.<module>``, or a fresh ``alias``)."""
    folder = submission_path()
    if PACKAGE not in sys.modules:
        spec = importlib.machinery.ModuleSpec(PACKAGE, None, is_package=True)
        spec.submodule_search_locations = [str(folder)]  # never its __init__.py: nothing runs before we call
        sys.modules[PACKAGE] = importlib.util.module_from_spec(spec)
    if alias is None:
        return importlib.import_module(f"{PACKAGE}.{module}")
    spec = importlib.util.spec_from_file_location(f"{PACKAGE}.{alias}", folder / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


def flush() -> None:
    """Python's buffered output to fds 1 and 2, now (the grader reads those fds, not Python's buffers)."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):  # a submission may have replaced or closed them
            stream.flush()


def write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]
