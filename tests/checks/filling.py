"""Write the reference solution of some TODOs into a copy of ``exercises/``, leaving the others open.

For the failure-attribution tests (issue 10 item 5): a file is regenerated from its
``lab_solution/`` source by ``scripts/make_exercises.py`` with the chosen blocks kept, so
it is byte-for-byte the exercise file except for the TODOs a student has just written::

    fill(submission, {"train.py:split"})      # train.py with split() written, build_model() still open
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOLUTION = REPO / "lab_solution"
_spec = importlib.util.spec_from_file_location("make_exercises", REPO / "scripts" / "make_exercises.py")
make_exercises = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_exercises)
WHERE = re.compile(r"exercises/(?P<file>[\w.]+) (?P<name>\w+)")


def blocks(name: str) -> list[tuple[int, int, str]]:
    """(BEGIN line, END line, TODO id) of every solution block of one lab_solution file."""
    found, begin, functions = [], None, []
    for number, line in enumerate((SOLUTION / name).read_text().splitlines()):
        if line.strip() and begin is None:
            indent = len(line) - len(line.lstrip())
            functions = [(i, n) for i, n in functions if i < indent]
            if match := make_exercises.DEF.match(line):
                functions.append((len(match["indent"]), match["name"]))
        if make_exercises.BEGIN.match(line):
            begin = number
        elif end := make_exercises.END.match(line):
            stub = WHERE.search(end["stub"] or "")
            todo = (f"{name}:{functions[-1][1]}" if functions else f"{stub['file']}:{stub['name']}" if stub else name)
            found.append((begin, number, todo))
            begin = None
    return found


def todos() -> dict[str, str]:
    """Every TODO id, and the file it is in."""
    return {todo: path.name for path in sorted(SOLUTION.iterdir()) if path.is_file()
            for _, _, todo in blocks(path.name)}


def fill(folder: Path, written: set[str]) -> None:
    """Make ``folder``'s exercise files hold the solution of exactly the TODOs in ``written``."""
    for name in sorted(set(todos().values())):
        lines = (SOLUTION / name).read_text().splitlines()
        markers = {n for begin, end, todo in blocks(name) if todo in written for n in (begin, end)}
        text = "\n".join(line for number, line in enumerate(lines) if number not in markers) + "\n"
        (folder / name).write_text(make_exercises.strip_solutions(text, name))
