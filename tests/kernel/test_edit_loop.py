"""A student's loop, in one Jupyter kernel per notebook: TODOs open, then written one at a time, cells re-run.

For every step with TODOs, in notebook order, on a submission folder two levels down that
starts as an untouched copy of ``exercises/``: the notebook runs with the step's TODOs open
(a cell names the open TODO, the inline grade fails, the step scores 0); then the student
writes one TODO at a time (``filling.fill``) and re-runs the same cells in the same kernel,
and after each the grader passes exactly the checks whose declared TODOs are written (the
failure attribution of steps 3-8; ``tests/checks/test_attribution.py`` covers 1-2 offline).
At the end of each step: no cell fails, and the inline grade passes.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import filling
import nbformat
import pytest

from checks import Context, all_steps, run_steps
from labkit import config, kernels, steps
from labkit.config import REPO_ROOT

# Step 7's experiments (provisioned concurrency, the ONNX and NumPy images, the import profile) have no TODO
# and take minutes; nbval runs them. Here they would only repeat themselves.
EXPERIMENTS = ("provisioned", "onnx_variant", "numpy_variant", "init_profile")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NAME = "edit-loop"

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]


def text_of(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts += [str(v) for k, v in output.get("data", {}).items() if k == "text/plain"]
        parts += output.get("traceback", []) + [output.get("evalue", "")]
    return ANSI.sub("", "\n".join(parts))


def run_all(client, cells) -> list[str]:
    for index, cell in enumerate(cells):
        client.execute_cell(cell, index)
    return [text_of(cell) for cell in cells]


def errors(cells) -> list[str]:
    return [text_of(c)[-300:] for c in cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]


@pytest.fixture()
def submission(tmp_path):
    folder = tmp_path / "submissions" / "alice"  # where the README's class folders live, two levels down
    shutil.copytree(REPO_ROOT / "exercises", folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_open_todo_then_written_then_rerun_in_the_same_kernel(submission, tmp_path):
    # resources and images of their own, so the reference run of the notebooks is not disturbed
    env = {"LAB_CODE": str(submission), "LAB_BUILD_DIR": str(tmp_path / "build"), "LAB_NAME": NAME}
    written: set[str] = set()
    try:
        for step in steps.STEPS[:steps.CLEANUP + 1]:  # the Lambda path; step 9's checks test Cloud Run
            if step.todos:
                open_then_written(step, submission, env, written)
    finally:
        subprocess.run(["docker", "image", "rm", "--force", f"{NAME}:latest", f"127.0.0.1:4566/{NAME}:latest"],
                       capture_output=True, timeout=60)


def graded(step: steps.Step, env: dict, written: set[str]) -> int:
    """Grade the step on disk; every check must pass exactly when the TODOs it declares are written."""
    report = run_steps([step.number], Context(config.load(env)), isolation="process")
    declared = {c.name: set(c.todos) for c in all_steps()[step.number].checks}
    for result in (r for r in report.results if not r.skipped):
        assert result.passed == (declared[result.name] <= written), (
            f"step {step.number} with {sorted(written)} written: {result.mark} {result.name}: {result.message}")
    return report.earned


def open_then_written(step: steps.Step, submission, env, written: set[str]) -> None:
    nb = nbformat.read(REPO_ROOT / step.where, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and not any(e in c.source for e in EXPERIMENTS)]
    files = sorted({todo.split(":")[0] for todo in step.todos})
    with kernels.kernel(nb, REPO_ROOT / "notebooks", env=env, timeout=600) as client:
        client.allow_errors = True  # a student's open TODO is an error in a cell, and the notebook goes on
        before = run_all(client, cells)
        assert any(f"TODO still open: exercises/{name}" in out for out in before for name in files), (
            f"step {step.number}: no cell named an open TODO of {files}")
        assert "all checks passed" not in before[-1], f"step {step.number} passed with its TODOs open"
        earned = [graded(step, env, written)]
        for todo in step.todos:  # the student writes one more TODO, saves, and re-runs the cells
            written.add(todo)
            filling.fill(submission, written)
            after = run_all(client, cells)
            earned.append(graded(step, env, written))
        assert earned[0] == 0 and earned == sorted(earned), f"step {step.number}: scores {earned}"
    assert not errors(cells), f"step {step.number} still fails after the TODOs were written: {errors(cells)}"
    assert "all checks passed" in after[-1], f"step {step.number}: {after[-1][-1500:]}"
