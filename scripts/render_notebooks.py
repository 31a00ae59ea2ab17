"""Render the notebooks' prose in one language from its one source, ``notebooks/text/NN_name.yaml``.

Each notebook's markdown cells are written in both languages in its text catalogue, keyed
by the cell's id (``{id: {bn: ..., en: ...}}``); the code cells live only in the notebook.
Rendering replaces every markdown cell's source with the chosen language's text, in place,
and leaves code cells (a student's guesses included) as they are.

    python scripts/render_notebooks.py                 # LAB_LANG's language (Bengali by default)
    python scripts/render_notebooks.py --lang en       # English
    python scripts/render_notebooks.py --strip         # also clear outputs (what `make notebooks` does)
    python scripts/render_notebooks.py --check         # the committed notebooks: Bengali, complete, no outputs

``--check`` fails when a notebook's markdown differs from its catalogue in Bengali, when a
catalogue lacks a cell or a language, or when a notebook carries outputs of a run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

from labkit import config, steps
from labkit.bilingual import say
from labkit.cli import Parser
from labkit.errors import LabError, run_cli

NOTEBOOKS = config.REPO_ROOT / "notebooks"
TEXT = NOTEBOOKS / "text"


def catalogue_of(notebook: Path) -> dict[str, dict[str, str]]:
    """The notebook's text catalogue: cell id -> language -> markdown."""
    path = TEXT / f"{notebook.stem}.yaml"
    if not path.exists():
        raise LabError(f"{notebook.name} has no text catalogue {path.relative_to(config.REPO_ROOT)}")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def problems(nb: nbformat.NotebookNode, catalogue: dict[str, dict[str, str]]) -> list[str]:
    """What keeps ``catalogue`` from rendering ``nb`` in every language (missing cells or languages, strays)."""
    ids = [c.id for c in nb.cells if c.cell_type == "markdown"]
    found = [f"markdown cell {i} has no text" for i in ids if i not in catalogue]
    found += [f"cell {i} has no {lang!r} text" for i in ids if i in catalogue
              for lang in config.LANGUAGES if not str(catalogue[i].get(lang) or "").strip()]
    found += [f"text {i} belongs to no markdown cell" for i in catalogue if i not in ids]
    return found


def render(nb: nbformat.NotebookNode, catalogue: dict[str, dict[str, str]], lang: str,
           strip: bool = False) -> nbformat.NotebookNode:
    """``nb`` with every markdown cell in ``lang`` (and, with ``strip``, no outputs); raises LabError if incomplete."""
    if found := problems(nb, catalogue):
        raise LabError("; ".join(found))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = catalogue[cell.id][lang].rstrip("\n")
        elif strip and cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def check(notebook: Path) -> list[str]:
    """Why the committed ``notebook`` is not the Bengali rendering of its catalogue with no outputs."""
    committed = nbformat.read(notebook, as_version=4)
    try:
        expected = render(nbformat.read(notebook, as_version=4), catalogue_of(notebook), "bn", strip=True)
    except LabError as error:
        return [str(error)]
    found = [f"cell {c.id} differs from its Bengali text" for c, e in zip(committed.cells, expected.cells)
             if c.cell_type == "markdown" and c.source != e.source]
    found += [f"cell {c.id} carries outputs of a run" for c in committed.cells
              if c.cell_type == "code" and (c.outputs or c.execution_count)]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=say(__doc__.splitlines()[0],
                                    "প্রতিটা notebook-এর লেখা তার একমাত্র source থেকে এক ভাষায় render করো।"))
    parser.add_argument("--lang", choices=config.LANGUAGES, help=say("default: LAB_LANG (bn)", "default: LAB_LANG (bn)"))
    parser.add_argument("--strip", action="store_true", help=say("clear every code cell's outputs too",
                                                                 "প্রতিটা code cell-এর output-ও মুছে দাও"))
    parser.add_argument("--check", action="store_true", help=say("change nothing; exit 1 unless up to date",
                                                                 "কিছু বদলাবে না; হালনাগাদ না হলে exit 1"))
    args = parser.parse_args(argv)
    notebooks = [NOTEBOOKS / name for name in steps.NOTEBOOKS]
    if args.check:
        found = [f"{nb.name}: {problem}" for nb in notebooks for problem in check(nb)]
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print("run `make notebooks` (scripts/render_notebooks.py --strip) and commit", file=sys.stderr)
        return 1 if found else 0
    lang = args.lang or config.load().lang
    for notebook in notebooks:
        nb = render(nbformat.read(notebook, as_version=4), catalogue_of(notebook), lang, strip=args.strip)
        nbformat.write(nb, notebook)
    print(f"rendered {len(notebooks)} notebooks in {lang}{' without outputs' if args.strip else ''}")
    return 0


if __name__ == "__main__":
    run_cli(main)
