"""How an unfinished exercise announces itself: ``TODO still open: exercises/FILE FUNCTION()``.

``scripts/make_exercises.py`` turns each solution block into a stub that raises
:class:`TodoOpen` (or, at module scope, holds an :class:`Unfinished` placeholder), so the
notebook cell, the grader and the handler's 500 all name the same file and function.
"""

from __future__ import annotations

import re

PREFIX = "TODO still open: "
# A stub in a source file, as scripts/make_exercises.py writes it; ``where`` is "exercises/FILE NAME()".
STUB = re.compile(r"""(?:TodoOpen|Unfinished)\(["'](?P<where>exercises/[^"']+)["']""")


class TodoOpen(NotImplementedError):
    """A TODO of the exercises that the student has not written yet."""

    def __init__(self, where: str):
        super().__init__(PREFIX + where)
        self.where = where

    def _render_traceback_(self) -> list[str]:  # Jupyter shows this instead of a traceback
        return [f"{self}: write it, save the file, and run this cell again"]


class Unfinished:
    """A module-scope value a TODO should set; using it raises :class:`TodoOpen`."""

    def __init__(self, where: str):
        self._where = where

    def __getattr__(self, name: str):
        raise TodoOpen(self._where)

    def __call__(self, *args, **kwargs):
        raise TodoOpen(self._where)

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<{PREFIX}{self._where}>"


def open_todo(error: BaseException) -> str | None:
    """The ``TODO still open: …`` line an error carries, or None when it is an ordinary bug."""
    seen = error
    while seen is not None:  # a TODO may surface wrapped in another exception
        if isinstance(seen, NotImplementedError) and str(seen).startswith(PREFIX):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return None
