"""The notebooks a student opens hand out no answers: no outputs of a reference run, no solution blocks.

``make lab`` and the notebook tests write executed copies under the build folder; the
committed notebooks stay as a student first sees them (``make notebooks`` strips them).
"""

from __future__ import annotations

import pytest
import nbformat

from labkit.config import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_committed_notebook_carries_no_output_and_no_solution(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [i for i, c in enumerate(code) if c.get("outputs")], "outputs of a run (run `make notebooks`)"
    assert not [i for i, c in enumerate(code) if c.get("execution_count")], "execution counts (run `make notebooks`)"
    assert not [c.source[:80] for c in nb.cells if "BEGIN SOLUTION" in c.source or "END SOLUTION" in c.source]
