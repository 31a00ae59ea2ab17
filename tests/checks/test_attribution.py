"""Failure attribution: TODOs filled one at a time, in notebook order, each check passing exactly when its own are.

Steps 1 and 2 (graded offline). ``filling.fill`` writes the reference solution of the
chosen TODOs into a submission folder two levels down; after the training TODOs the
student's own train() runs, as notebook 01 does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import filling
from checks import Context, all_steps, run_steps
from labkit import config, steps

STEPS = [1, 2]


def test_each_check_passes_exactly_when_its_declared_todos_are_written(tmp_path):
    # given an untouched copy of exercises/ in submissions/alice/
    submission = tmp_path / "submissions" / "alice"
    shutil.copytree(config.REPO_ROOT / "exercises", submission, ignore=shutil.ignore_patterns("__pycache__"))
    build = submission / "build"
    settings = config.load({}, code=str(submission), build_dir=build)
    order = [todo for step in steps.STEPS if step.number in STEPS for todo in step.todos]
    checks = {c.name: c for n in STEPS for c in all_steps()[n].checks}
    written: set[str] = set()
    earned = []
    for todo in [None, *order]:
        # when the student writes one more TODO (and, once step 1's are written, trains)
        if todo:
            written.add(todo)
            filling.fill(submission, written)
        if {"train.py:split", "train.py:build_model"} <= written and not build.exists():
            script = ("import sys; from pathlib import Path; from labkit.loader import import_from_folder; "
                      "import_from_folder(Path(sys.argv[1]), 'train').train(Path(sys.argv[2]))")
            subprocess.run([sys.executable, "-c", script, str(submission), str(build / "model")], check=True,
                           timeout=120, capture_output=True)
        report = run_steps(STEPS, Context(settings), isolation="process")
        # then every check passes exactly when the TODOs it declares are written
        for result in report.results:
            expected = set(checks[result.name].todos) <= written
            assert result.passed == expected, f"after {sorted(written)}: {result.name}: {result.message}"
        earned.append(report.earned)
    # and the score never falls, starts at 0 and ends at the reference's full marks
    assert earned == sorted(earned) and earned[0] == 0 and earned[-1] == report.possible
