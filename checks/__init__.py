"""The lab's grader: ``python -m checks`` in a terminal, :func:`grade` in a notebook.

Each step has a module ``checks/stepN_*.py`` that declares what to observe of the
submission and its checks. The student's code runs only in a sandbox (a container, or a
freshly spawned, resource-limited process: :mod:`checks.sandbox`); the checks decide
from its plain observations, here, so a student's mistake ends as a failed check with a
hint, never as a crashed or fooled grader.
"""

from __future__ import annotations

from .context import Context
from .framework import CheckFailed, CheckSkipped, all_steps
from .report import Report
from .runner import choose_isolation, run_steps

__all__ = ["CheckFailed", "CheckSkipped", "Context", "Report", "all_steps", "grade", "run_steps"]


def grade(*steps: int, code: str | None = None, sandbox: str = "auto") -> Report:
    """Grade some steps (all when none are given) from the files on disk, and return the report.

    The code runs in a freshly spawned interpreter (never a fork of the notebook's kernel), so
    what is graded is what is saved now, whatever the kernel has imported. In a notebook the
    report renders as a table; ``print(report)`` gives text.

    Args:
        steps: step numbers, e.g. ``grade(2)``.
        code: ``exercises``, ``lab_solution`` or a folder; default: ``LAB_CODE``.
        sandbox: ``auto`` (a container when Docker answers), ``docker`` or ``process``.
    """
    from .context import config

    settings = config.load(code=code)
    return run_steps(steps or sorted(all_steps()), Context(settings), isolation=choose_isolation(sandbox))
