"""How an unfinished exercise announces itself: ``TODO still open: exercises/FILE FUNCTION()``.

``scripts/make_exercises.py`` turns each solution block into a stub that raises
:class:`TodoOpen` (or, at module scope, holds an :class:`Unfinished` placeholder), so the
notebook cell, the grader and the handler's 500 all name the same file and function.

The stub names ``exercises/FILE FUNCTION()``; the line a student reads names the folder
their code is in (``LAB_CODE``: ``exercises``, or a submission folder, relative to the
repository root when inside it) in their language (``LAB_LANG``)::

    TODO এখনো বাকি: submissions/me/train.py split()        # LAB_LANG=bn (the default)
    TODO still open: submissions/me/train.py split()       # LAB_LANG=en

This module ships alone (with ``serving``) in the Lambda image, where the lab has no settings:
there the line keeps the stub's own words, in English. :data:`LINE` reads either language.
"""

from __future__ import annotations

import re

PREFIXES = {"en": "TODO still open: ", "bn": "TODO এখনো বাকি: "}
PREFIX = PREFIXES["en"]
# A stub in a source file, as scripts/make_exercises.py writes it; ``where`` is "exercises/FILE NAME()".
STUB = re.compile(r"""(?:TodoOpen|Unfinished)\(["'](?P<where>exercises/[^"']+)["']""")
# The line in either language, whatever the folder: FILE and, for a function or a module-scope value, NAME.
LINE = re.compile(r"(?:" + "|".join(map(re.escape, PREFIXES.values())) + r")(?:[^\n]*?/)?"
                  r"(?P<file>\w+\.py|Dockerfile)(?: (?P<name>\w+)(?:\(\)| \(module scope\)))?")
RERUN = {"en": "write it, save the file, and run this cell again",
         "bn": "এটা লেখো, file save করো, তারপর এই cell আবার চালাও"}


def announce(where: str) -> tuple[str, str]:
    """``(line, lang)``: the line for the stub at ``where``, naming the student's folder, in their language."""
    try:
        from . import config  # not in the Lambda image: there the stub's own words stay

        settings = config.load()
    except Exception:  # noqa: BLE001 - ImportError in the image; a bad setting is reported where it is read
        return PREFIXES["en"] + where, "en"
    return PREFIXES[settings.lang] + config.code_label(settings) + where.removeprefix("exercises"), settings.lang


class TodoOpen(NotImplementedError):
    """A TODO of the exercises that the student has not written yet."""

    def __init__(self, where: str):
        line, self.lang = announce(where)
        super().__init__(line)
        self.where = where  # as the stub names it: exercises/FILE NAME()

    def _render_traceback_(self) -> list[str]:  # Jupyter shows this instead of a traceback
        return [f"{self}: {RERUN[self.lang]}"]


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
        return f"<{announce(self._where)[0]}>"


def open_todo(error: BaseException) -> str | None:
    """The ``TODO still open: …`` line an error carries, or None when it is an ordinary bug."""
    seen = error
    while seen is not None:  # a TODO may surface wrapped in another exception
        if isinstance(seen, NotImplementedError) and str(seen).startswith(tuple(PREFIXES.values())):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return None
