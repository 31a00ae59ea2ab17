"""The README's step table says what the grader grades: notebook, TODOs and points per step.

A row with no step number is an ungraded notebook that follows its step (``labkit.steps``'s
``more``); the table names every notebook after 00, in the lab's order.
"""

from __future__ import annotations

import re

from checks import all_steps
from checks.framework import todo_label
from labkit import steps
from labkit.config import REPO_ROOT

ROW = re.compile(r"^\| (\d+) \| `([\w]+)` \| (.+) \| (\d+) \|$", re.M)
NOTEBOOK_ROW = re.compile(r"^\| (\d*) +\| `(\w+)` \|", re.M)


def test_the_readme_step_table_matches_the_grader():
    rows = {int(n): (notebook, re.findall(r"`([^`]+)`", todos), int(points))
            for n, notebook, todos, points in ROW.findall((REPO_ROOT / "README.md").read_text())}
    expected = {n: (s.notebook.removesuffix(".ipynb"), [todo_label(t).removeprefix("exercises/") for t in s.todos],
                    sum(c.points for c in s.checks)) for n, s in all_steps().items()}
    assert rows == expected


def test_the_readme_step_table_names_every_notebook_in_order_and_its_follow_ups_without_a_step():
    rows = NOTEBOOK_ROW.findall((REPO_ROOT / "README.md").read_text())
    expected = [(str(s.number) if name == s.notebook else "", name.removesuffix(".ipynb"))
                for s in steps.STEPS if s.number for name in s.notebooks]
    assert rows == expected
