"""The lab's grader: ``python -m checks`` in a terminal, :func:`grade` in a notebook.

Each step has a module ``checks/stepN_*.py`` that declares its checks; the runner
executes every check in its own process with a time limit, so a student's mistake
ends as a failed check with a hint, never as a crashed grader.
"""

from __future__ import annotations

from .context import Context
from .framework import CheckFailed, CheckSkipped, Report, all_steps
from .runner import run_steps

__all__ = ["CheckFailed", "CheckSkipped", "Context", "Report", "all_steps", "grade", "run_steps"]


def grade(*steps: int, code: str | None = None) -> Report:
    """Grade some steps (all when none are given) and return the report.

    In a notebook the report renders as a table; ``print(report)`` gives text.

    Args:
        steps: step numbers, e.g. ``grade(2)``.
        code: ``exercises``, ``lab_solution`` or a folder; default: ``LAB_CODE``.
    """
    from labkit import config

    settings = config.load(code=code)
    return run_steps(steps or sorted(all_steps()), Context(settings))
