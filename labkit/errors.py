"""The lab's one error type, and the boundary that turns it into one clear line.

Library code raises :class:`LabError` with a message a student can act on, written in both
languages with :func:`labkit.bilingual.say` (a plain ``str`` is English and reads the same in
both); the line is shown in the student's language (``LAB_LANG``). The command-line entry
points wrap ``main`` in :func:`run_cli` so a mistake prints ``error: …`` and exits 1 instead
of showing a Python traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from .bilingual import say, text

INTERRUPTED = say("interrupted", "থামানো হলো")


def language() -> str:
    """The student's language: ``LAB_LANG``, as :func:`labkit.config.language` reads it.

    :mod:`labkit.config` imports this module, so it cannot be imported here; it hands its reader
    over with :func:`read_language_with` as it loads. Without it (this module alone, as in a
    Lambda image) messages keep their English, as :mod:`labkit.todo`'s do there.
    """
    return _read_language()


def read_language_with(reader: Callable[[], str]) -> None:
    """Let :func:`language` ask ``reader`` (called once, by :mod:`labkit.config`)."""
    global _read_language
    _read_language = reader


def _read_language() -> str:
    return "en"


class LabError(Exception):
    """Something the student or the environment must fix; the message says what."""

    @property
    def said(self) -> str:
        """The message as it was given: a :class:`~labkit.bilingual.Said` keeps its Bengali."""
        return self.args[0] if self.args and isinstance(self.args[0], str) else str(self)

    def text(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: ``LAB_LANG``)."""
        return text(self.said, lang or language())

    def _render_traceback_(self) -> list[str]:  # Jupyter shows this one line instead of a traceback
        return [f"error: {self.text()}"]


def run_cli(main: Callable[[], int | None]) -> None:
    """Run a command-line ``main`` and exit with its status; LabError becomes one line in ``LAB_LANG``."""
    try:
        status = main()
    except (LabError, NotImplementedError) as error:
        if isinstance(error, NotImplementedError) and not hasattr(error, "where"):
            raise  # an ordinary bug; a TODO stub's labkit.todo.TodoOpen (which imports config, so not here) has .where
        line = error.text() if isinstance(error, LabError) else str(error)  # a TodoOpen is in LAB_LANG already
        print(f"error: {line}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print(text(INTERRUPTED, language()), file=sys.stderr)
        status = 130
    sys.exit(status or 0)

