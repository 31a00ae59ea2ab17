"""The lab's grader: ``python -m checks`` in a terminal, :func:`grade` in a notebook.

Each step has a module ``checks/stepN_*.py`` that declares what to observe of the
submission and its checks. The student's code runs only in a sandbox (a container, or a
freshly spawned, resource-limited process: :mod:`checks.sandbox`); the checks decide
from its plain observations, here, so a student's mistake ends as a failed check with a
hint, never as a crashed or fooled grader.

The names below are imported on first use: the sandboxed child imports :mod:`checks.probes`,
and so this package, and loads none of the grader's own modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import Report

__all__ = ["CheckFailed", "CheckSkipped", "Context", "Report", "all_steps", "grade", "run_steps"]
_HOMES = {"CheckFailed": "framework", "CheckSkipped": "framework", "all_steps": "framework", "Context": "context",
          "Report": "report", "run_steps": "runner", "choose_isolation": "runner"}


def __getattr__(name: str):
    """``checks.Context`` and the rest of the grader's API, from the module that defines each."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


def grade(*steps: int, code: str | None = None, sandbox: str = "auto") -> Report:
    """Grade some steps (all when none are given) from the files on disk, and return the report.

    The code runs in a sandboxed interpreter of its own (never the notebook's kernel, nor a fork of it), so
    what is graded is what is saved now, whatever the kernel has imported. In a notebook the
    report renders as a table; ``print(report)`` gives text.

    Args:
        steps: step numbers, e.g. ``grade(2)``.
        code: ``exercises``, ``lab_solution`` or a folder; default: ``LAB_CODE``.
        sandbox: ``auto`` (a container when Docker answers), ``docker`` or ``process``.
    """
    from .context import Context, config
    from .framework import all_steps
    from .runner import choose_isolation, run_steps

    settings = config.load(code=code)
    return run_steps(steps or sorted(all_steps()), Context(settings), isolation=choose_isolation(sandbox))
