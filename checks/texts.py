"""The grader's Bengali names and hints: ``checks/text/bn.yaml``, looked up when a report or the index is shown.

A check is declared in English (:mod:`checks.framework`); its Bengali name and hint live in
the catalogue under the check's id, ``STEP.FUNCTION`` (``1.split_sizes``), grouped by step::

    1:
      split_sizes:
        name: split() test_size অনুযায়ী ফুল আলাদা রাখে, species-এর অনুপাত ঠিক রেখে
        hint: "train.py split(): ..."

so the step modules carry no translation and a check's grading logic can change without
touching it. ``tests/checks/test_texts.py`` fails when a declared check has no Bengali name or
hint, or when the catalogue holds an id no check declares. In English (``LAB_LANG=en``), and
for an id the catalogue lacks, the declaration's own words are shown.
"""

from __future__ import annotations

import functools
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parent / "text" / "bn.yaml"
FIELDS = ("name", "hint")


@functools.cache
def catalogue() -> dict[str, dict[str, str]]:
    """Check id -> its Bengali ``name`` and ``hint``."""
    import yaml

    raw = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8")) or {}
    return {f"{step}.{check}": {k: str(v).strip() for k, v in (texts or {}).items()}
            for step, checks in raw.items() for check, texts in (checks or {}).items()}


def of_check(check_id: str, field: str, english: str, lang: str) -> str:
    """A check's ``name`` or ``hint`` in ``lang``: the catalogue's Bengali, or the declaration's English."""
    if lang != "bn":
        return english
    return catalogue().get(check_id, {}).get(field) or english
