"""exercises/ is generated from lab_solution/ and must not drift from it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "scripts" / "make_exercises.py")
make_exercises = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_exercises)

SOLUTION = '''from __future__ import annotations


def f(x):
    """Docstring."""
    # BEGIN SOLUTION: double it.
    return 2 * x
    # END SOLUTION


# BEGIN SOLUTION: build the table.
TABLE = {1: 2}
# END SOLUTION (exercise: TABLE = None)
'''


def test_blocks_become_todos_with_stubs():
    exercise = make_exercises.strip_solutions(SOLUTION, "f.py")
    assert "return 2 * x" not in exercise and "{1: 2}" not in exercise
    assert '    # TODO: double it.\n    raise TodoOpen("exercises/f.py f()")' in exercise
    assert "from labkit.todo import TodoOpen, Unfinished" in exercise
    assert "# TODO: build the table.\nTABLE = None" in exercise
    assert exercise.startswith("# Student version of lab_solution/f.py")
    compile(exercise, "f.py", "exec")


@pytest.mark.parametrize("lang, line", [("en", r"^TODO still open: exercises/f.py f\(\)$"),
                                        ("bn", r"^TODO এখনো বাকি: exercises/f.py f\(\)$")])
def test_an_open_todo_names_its_file_and_function(monkeypatch, lang, line):
    monkeypatch.setenv("LAB_LANG", lang)
    namespace = {}
    exec(compile(make_exercises.strip_solutions(SOLUTION, "f.py"), "f.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=line):
        namespace["f"](1)


def test_unbalanced_markers_are_refused():
    with pytest.raises(make_exercises.MarkerError, match="never closed"):
        make_exercises.strip_solutions("# BEGIN SOLUTION\nx = 1\n", "g.py")
    with pytest.raises(make_exercises.MarkerError, match="without BEGIN"):
        make_exercises.strip_solutions("x = 1\n# END SOLUTION\n", "g.py")


def test_exercises_folder_is_current():
    assert make_exercises.main(["--check"]) == 0, "run `make exercises` and commit the result"


def test_every_solution_module_with_todos_keeps_its_public_names():
    for name, text in make_exercises.expected_files().items():
        solution = (ROOT / "lab_solution" / name).read_text()
        for line in solution.splitlines():
            if line.startswith(("def ", "class ")):
                assert line in text, f"{name}: {line} is missing from the exercise"
