"""The lab teaches in the students' language: every notebook opens with a Bengali summary and
closes with a Bengali recap, and the glossary explains every term of the chapter in Bengali."""

from __future__ import annotations

import re

import nbformat
import pytest

from labkit import config, steps

NOTEBOOKS = [config.REPO_ROOT / "notebooks" / name for name in steps.NOTEBOOKS]
GLOSSARY = config.REPO_ROOT / "docs" / "glossary.md"
BENGALI = re.compile("[\u0980-\u09ff]")
# The chapter's terms the glossary must explain, as its rows name them.
TERMS = [
    "cold start", "warm start", "INIT", "execution environment", "handler", "container image", "digest",
    "ECR", "alias", "version", "provisioned concurrency", "concurrency", "reserved concurrency", "throttling",
    "API Gateway", "integration", "route", "stage", "scale to zero", "Cloud Run", "min-instances", "IAM role",
    "least privilege", "payload", "timeout", "p50 / p95",
    "function URL", "SnapStart", "ONNX Runtime", "quantization", "RIE (Runtime Interface Emulator)",
    "REPORT line / Billed Duration", "response streaming", "WebSocket", "webhook", "async (Event) invoke",
    "revision (Cloud Run)", "request-based vs instance-based billing", "trigger / binding (Azure Functions)",
    "Flex Consumption",
]


def markdown_cells(path):
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown"]


def glossary_rows() -> dict[str, tuple[str, str]]:
    """``{term: (Bengali explanation, English explanation)}`` from the glossary's table rows."""
    rows = re.findall(r"^\| \*\*(.+?)\*\* \| (.+?) \| (.+?) \|$", GLOSSARY.read_text(encoding="utf-8"), re.MULTILINE)
    return {term: (bengali, english) for term, bengali, english in rows}


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 9


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_opens_with_a_bengali_summary_and_closes_with_a_recap(path):
    # given
    cells = nbformat.read(path, as_version=4).cells
    markdown = markdown_cells(path)
    # then the first markdown cell is the summary, the very last cell the recap
    assert BENGALI.search(markdown[0].source), f"{path.name}: the first markdown cell has no Bengali"
    assert cells[-1].cell_type == "markdown", f"{path.name}: the last cell is not the recap"
    assert "তুমি যা শিখলে" in cells[-1].source and BENGALI.search(cells[-1].source)


@pytest.mark.parametrize("term", TERMS)
def test_the_glossary_explains_a_term_in_bengali_and_english(term):
    rows = glossary_rows()
    assert term in rows, f"docs/glossary.md has no row for {term!r}"
    bengali, english = rows[term]
    assert BENGALI.search(bengali) and not BENGALI.search(english)
