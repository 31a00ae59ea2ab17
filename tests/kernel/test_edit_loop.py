"""A student's loop, in one Jupyter kernel per notebook: a TODO open, then written, then the same cells re-run.

For every step with TODOs, in notebook order, on a submission folder that starts as an
untouched copy of ``exercises/``: the notebook runs with the step's TODOs open (a cell names
the open TODO, the inline grade fails), the step's files are replaced by the reference
ones, and the same cells run again in the same kernel: no error, and the grade passes.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import nbformat
import pytest

from labkit import kernels, steps
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
    try:
        for step in steps.STEPS:
            if step.todos:
                open_then_written(step, submission, env)
    finally:
        subprocess.run(["docker", "image", "rm", "--force", f"{NAME}:latest", f"127.0.0.1:4566/{NAME}:latest"],
                       capture_output=True, timeout=60)


def open_then_written(step: steps.Step, submission, env) -> None:
    nb = nbformat.read(REPO_ROOT / step.where, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and not any(e in c.source for e in EXPERIMENTS)]
    files = sorted({todo.split(":")[0] for todo in step.todos})
    with kernels.kernel(nb, REPO_ROOT / "notebooks", env=env, timeout=600) as client:
        client.allow_errors = True  # a student's open TODO is an error in a cell, and the notebook goes on
        before = run_all(client, cells)
        assert any(f"TODO still open: exercises/{name}" in out for out in before for name in files), (
            f"step {step.number}: no cell named an open TODO of {files}")
        assert "all checks passed" not in before[-1], f"step {step.number} passed with its TODOs open"
        for name in files:  # the student writes the step's TODOs and saves the files
            shutil.copy(REPO_ROOT / "lab_solution" / name, submission / name)
        after = run_all(client, cells)
    assert not errors(cells), f"step {step.number} still fails after the TODOs were written: {errors(cells)}"
    assert "all checks passed" in after[-1], f"step {step.number}: {after[-1][-1500:]}"
