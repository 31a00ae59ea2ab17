"""The lab's one error type, and the boundary that turns it into one clear line.

Library code raises :class:`LabError` with a message a student can act on; the
command-line entry points wrap ``main`` in :func:`run_cli` so a mistake prints
``error: …`` and exits 1 instead of showing a Python traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class LabError(Exception):
    """Something the student or the environment must fix; the message says what."""

    def _render_traceback_(self) -> list[str]:  # Jupyter shows this one line instead of a traceback
        return [f"error: {self}"]


def run_cli(main: Callable[[], int | None]) -> None:
    """Run a command-line ``main`` and exit with its status; LabError becomes one line."""
    try:
        status = main()
    except (LabError, NotImplementedError) as error:
        if isinstance(error, NotImplementedError) and not hasattr(error, "where"):
            raise  # an ordinary bug; a TODO stub's labkit.todo.TodoOpen (which imports config, so not here) has .where
        print(f"error: {error}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        status = 130
    sys.exit(status or 0)
