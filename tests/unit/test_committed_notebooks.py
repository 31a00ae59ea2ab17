"""The notebooks a student opens hand out no answers, and speak Bengali from their one source.

Each committed notebook is its text catalogue rendered in Bengali, with every markdown cell
in both languages and no output of a run (``scripts/render_notebooks.py --check``), and
no solution block. ``make lab`` and the notebook tests write executed copies under the
build folder; ``make notebooks`` renders and strips the committed ones.
"""

from __future__ import annotations

import importlib.util

import nbformat
import pytest

from labkit import steps
from labkit.config import REPO_ROOT

spec = importlib.util.spec_from_file_location("render_notebooks", REPO_ROOT / "scripts" / "render_notebooks.py")
render_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render_notebooks)
NOTEBOOKS = [REPO_ROOT / "notebooks" / name for name in steps.NOTEBOOKS]


def test_each_steps_notebook_carries_the_steps_number_and_the_folder_sorts_in_the_labs_order():
    assert [s.notebook[:3] for s in steps.STEPS] == [f"{s.number:02d}_" for s in steps.STEPS]
    assert sorted(p.name for p in (REPO_ROOT / "notebooks").glob("*.ipynb")) == list(steps.NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_committed_notebook_is_its_bengali_text_without_outputs(path):
    assert not render_notebooks.check(path), "run `make notebooks` and commit"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_committed_notebook_carries_no_solution(path):
    nb = nbformat.read(path, as_version=4)
    assert not [c.id for c in nb.cells if "BEGIN SOLUTION" in c.source or "END SOLUTION" in c.source]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_english_renders_every_cell_too(path):
    nb = render_notebooks.render(nbformat.read(path, as_version=4), render_notebooks.catalogue_of(path), "en")
    assert all(c.source.strip() for c in nb.cells if c.cell_type == "markdown")
