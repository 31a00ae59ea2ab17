"""labkit.kernels: a kernel, and every process it started (a grade cell's fork server), ends with its context."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from labkit import kernels
from labkit.config import REPO_ROOT

pytestmark = pytest.mark.integration

CELL = ("import os, tempfile; from checks.sandbox import forkserver; "
        f"print(os.getpid(), forkserver.server({str(REPO_ROOT)!r}, tempfile.gettempdir()).pid)")


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_kernel_and_the_fork_server_its_grade_cell_started_end_with_the_context():
    # given: a notebook whose cell starts the grader's fork server, as a grade cell does
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    with kernels.kernel(nb, REPO_ROOT / "notebooks", env={"PYTHONPATH": str(REPO_ROOT)}) as client:
        client.execute_cell(nb.cells[0], 0)
    pids = [int(pid) for pid in nb.cells[0].outputs[0]["text"].split()]
    # then: both are gone once the context is left (nbclient alone leaves a kernel it did not start running)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids)
