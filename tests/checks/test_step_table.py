"""The README's step table says what the grader grades: notebook, TODOs and points per step."""

from __future__ import annotations

import re

from checks import all_steps
from checks.framework import todo_label
from labkit.config import REPO_ROOT

ROW = re.compile(r"^\| (\d+) \| `([\w]+)` \| (.+) \| (\d+) \|$", re.M)


def test_the_readme_step_table_matches_the_grader():
    rows = {int(n): (notebook, re.findall(r"`([^`]+)`", todos), int(points))
            for n, notebook, todos, points in ROW.findall((REPO_ROOT / "README.md").read_text())}
    expected = {n: (s.notebook.removesuffix(".ipynb"), [todo_label(t).removeprefix("exercises/") for t in s.todos],
                    sum(c.points for c in s.checks)) for n, s in all_steps().items()}
    assert rows == expected
