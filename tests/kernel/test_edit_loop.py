"""A student's loop without Docker, in one Jupyter kernel per notebook: TODOs open, then written one at a time.

For every step of the Lambda path with TODOs, in notebook order, on a submission folder two
levels down that starts as an untouched copy of ``exercises/``, against a private host-mode
stand-in (no Docker engine: the lab's host mode): the notebook runs with the step's TODOs
open (a cell names the open TODO, the inline grade fails, the step scores 0); then the
student writes one TODO at a time (``filling.fill``) and re-runs the same cells in the same
kernel, and after each the grader passes exactly the checks whose declared TODOs are written
(the failure attribution of steps 3-8; ``tests/checks/test_attribution.py`` covers 1-2
offline). At the end of each step: no cell fails, and the inline grade passes. Once a step's
TODOs are written, its ungraded follow-up notebooks run once, each in a kernel of its own
(``07b_mitigate_and_decide``: the experiments' host-mode branches), with no cell failing and
nothing of the provisioned-concurrency experiment left; across steps 1-7 only the checks
that need a real image are skipped. The docker-mode run of every
notebook with the reference code is ``tests/notebooks/test_notebooks.py``.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest

import filling
from checks import Context, all_steps, run_steps
from checks.report import ALL_PASSED
from labkit import bilingual, config, kernels, steps
from labkit.config import LANGUAGES, REPO_ROOT
from labkit.todo import PREFIXES
from localcloud import process
from observed import NOTHING_PROVISIONED, cell_text, provisioned_leftovers

# Without Docker, the checks that inspect a real image are skipped (and only those).
IMAGE_CHECKS = [
    "the submission's Dockerfile builds",
    "the image holds app.py, labkit/, model.joblib and the scikit-learn that trained it, and runs app.handler",
    "the image fits the size budget",
    "under the Runtime Interface Emulator the image answers right and refuses bad input",
]
NAME = "edit-loop"

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]


def all_passed(text: str) -> bool:
    """Whether a grade cell's report ends in "all checks passed", in either language."""
    return any(bilingual.text(ALL_PASSED, lang) in text for lang in LANGUAGES)


def run_all(client, cells) -> list[str]:
    for index, cell in enumerate(cells):
        client.execute_cell(cell, index)
    return [cell_text(cell) for cell in cells]


def errors(cells) -> list[str]:
    return [cell_text(c)[-300:] for c in cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]


@pytest.fixture()
def submission(tmp_path):
    folder = tmp_path / "submissions" / "alice"  # where the README's class folders live, two levels down
    shutil.copytree(REPO_ROOT / "exercises", folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_open_todo_then_written_then_rerun_in_the_same_kernel(submission, tmp_path):
    written: set[str] = set()
    skipped: list[str] = []
    with process.running(mode="host") as cloud:
        env = {"LAB_TARGET": "local", "LAB_CODE": str(submission), "LAB_BUILD_DIR": str(tmp_path / "build"),
               "LAB_NAME": NAME, "LAB_ENDPOINT_URL": cloud.endpoint, "LAB_DOCKER": "off"}
        for step in steps.STEPS[:steps.CLEANUP + 1]:  # the Lambda path; step 9 runs containers
            if step.todos:
                skipped += open_then_written(step, submission, env, written)
    assert skipped == IMAGE_CHECKS


def graded(step: steps.Step, env: dict, written: set[str]) -> tuple[int, list[str]]:
    """Grade the step on disk; every check must pass exactly when the TODOs it declares are written.

    Returns the step's score and the names of the checks that were skipped.
    """
    report = run_steps([step.number], Context(config.load(env)), isolation="process")
    declared = {c.name: set(c.todos) for c in all_steps()[step.number].checks}
    for result in (r for r in report.results if not r.skipped):
        assert result.passed == (declared[result.name] <= written), (
            f"step {step.number} with {sorted(written)} written: {result.mark} {result.name}: {result.message}")
    return report.earned, [r.name for r in report.results if r.skipped]


def open_then_written(step: steps.Step, submission, env, written: set[str]) -> list[str]:
    """The step's loop in one kernel; returns the checks skipped once every TODO is written."""
    nb = nbformat.read(REPO_ROOT / step.where, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    files = sorted({todo.split(":")[0] for todo in step.todos})
    grade = next(i for i, c in enumerate(cells) if "grade(" in c.source)  # the step's inline grade
    folder = config.code_label(config.load(env))  # the submission's own folder, not exercises/
    with kernels.kernel(nb, REPO_ROOT / "notebooks", env=env, timeout=600) as client:
        client.allow_errors = True  # a student's open TODO is an error in a cell, and the notebook goes on
        before = run_all(client, cells)
        assert any(f"{prefix}{folder}/{name}" in out for out in before for name in files for prefix in PREFIXES.values()), (
            f"step {step.number}: no cell named an open TODO of {files} in {folder}")
        assert not all_passed(before[grade]), f"step {step.number} passed with its TODOs open"
        earned = [graded(step, env, written)[0]]
        for todo in step.todos:  # the student writes one more TODO, saves, and re-runs the cells
            written.add(todo)
            filling.fill(submission, written)
            after = run_all(client, cells)
            score, skipped = graded(step, env, written)
            earned.append(score)
        assert earned[0] == 0 and earned == sorted(earned), f"step {step.number}: scores {earned}"
    assert not errors(cells), f"step {step.number} still fails after the TODOs were written: {errors(cells)}"
    assert all_passed(after[grade]), f"step {step.number}: {after[grade][-1500:]}"
    for name in step.more:  # the follow-ups have no TODO: they run once, on the step's finished result
        follow_up = nbformat.read(REPO_ROOT / "notebooks" / name, as_version=4)
        with kernels.kernel(follow_up, REPO_ROOT / "notebooks", env=env, timeout=600) as client:
            client.allow_errors = True
            run_all(client, follow_up.cells)
        assert not errors(follow_up.cells), f"{name} fails on step {step.number}'s result: {errors(follow_up.cells)}"
        assert provisioned_leftovers(config.load(env)) == NOTHING_PROVISIONED
    return skipped
