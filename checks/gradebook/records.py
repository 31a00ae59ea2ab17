"""A class's records as the writers read them, and the fairness rule they are checked against first.

A record is what the batch hands over for one student (and writes as ``students/<id>/grade.json``): the
object ``python -m checks --json`` prints (``earned``, ``possible``, ``passed``, ``sandboxed``,
``isolation``, ``lang``, ``results``) plus ``student`` (``id``, ``name``, ``email``), ``status``
(``graded`` or ``not_graded``), ``reason``, ``mode`` (``code`` or ``deploy``), ``seed``,
``grader_version``, ``submission_hash``, ``source``, ``step_seconds`` (step number as a string ->
seconds), ``latency`` (``cold_ms``, ``warm_ms``, or null) and ``graded_at``.

Fairness: every graded student is scored over the same checks, skipped the same way, by the same grader
in the same mode and sandbox. A class where that does not hold has an environment problem
(:func:`environment_problems`), which is reported as such and never turned into different scores.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from labkit.bilingual import Said, say

from .. import texts

GRADED, NOT_GRADED = "graded", "not_graded"
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")  # a student id names a folder: no separators, no dot first
GRADESCOPE_VISIBILITY = {"visible": "visible", "hidden": "hidden", "after_due": "after_due_date"}


class EnvironmentProblem(Exception):
    """The class was not graded alike (mode, sandbox, skipped checks, grader): no gradebook is written.

    ``problems`` holds one line per difference; ``report`` is the instructor's report that lists who differs.
    """

    def __init__(self, problems: list[str], report=None):
        super().__init__("environment problem, no gradebook written: " + "; ".join(problems)
                         + (f" (see {report})" if report else ""))
        self.problems, self.report = problems, report


def check_ids(records: list[dict]) -> None:
    """Raise ValueError unless every record names a distinct student id that is safe as a folder name."""
    seen = set()
    for record in records:
        sid = str((record.get("student") or {}).get("id", ""))
        if not SAFE_ID.fullmatch(sid):
            raise ValueError(f"student id {sid!r} is not usable as a folder name (letters, digits, . _ @ -)")
        if sid in seen:
            raise ValueError(f"student id {sid!r} appears twice")
        seen.add(sid)
        if record.get("status") not in (GRADED, NOT_GRADED):
            raise ValueError(f"student {sid}: status {record.get('status')!r} is neither graded nor not_graded")


def sid(record: dict) -> str:
    return str(record["student"]["id"])


def graded(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("status") == GRADED]


def numbered(record: dict) -> list[tuple[str, dict]]:
    """Each result with its number within its step, ``4.2`` for the second check of step 4 (Gradescope's ``number``)."""
    counts: dict[int, int] = defaultdict(int)
    found = []
    for result in record.get("results") or []:
        counts[result["step"]] += 1
        found.append((f"{result['step']}.{counts[result['step']]}", result))
    return found


def visibility(result: dict) -> str:
    """The check's declared visibility, from the record (as graded) or, for an older record, its declaration now."""
    if result.get("visibility") in GRADESCOPE_VISIBILITY:
        return result["visibility"]
    from ..framework import all_steps

    declared = {c.id: c.visibility for s in all_steps().values() for c in s.checks}
    return declared.get(result.get("id", ""), "hidden")  # unknown: shown to nobody but the instructor


def shown(result: dict, due: datetime | None, now: datetime) -> bool:
    """Whether a student may see this check's name and message now (hidden never; after_due once ``due`` passed)."""
    seen = visibility(result)
    return seen == "visible" or (seen == "after_due" and due is not None and now >= due)


def said(result: dict, field: str, lang: str) -> Said:
    """A result's ``name``, ``hint`` or ``message`` in both languages, as far as the record carries its Bengali."""
    english = result.get(field) or ""
    if lang == "bn" and isinstance(result.get("text"), dict) and field in result["text"]:
        return say(english, result["text"][field])
    if field in ("name", "hint"):
        return say(english, texts.of_check(result.get("id", ""), field, english, "bn"))
    return say(english, english)


def mark(result: dict) -> str:
    return "SKIP" if result.get("skipped") else "PASS" if result.get("passed") else "FAIL"


def skip_set(record: dict) -> tuple[str, ...]:
    return tuple(sorted(r["id"] for r in record.get("results") or [] if r.get("skipped")))


def check_set(record: dict) -> tuple[tuple[str, int], ...]:
    return tuple((r["id"], r["points"]) for r in record.get("results") or [])


def environment_problems(records: list[dict]) -> list[str]:
    """One line per way the graded records differ in how they were graded; empty when the class is fair."""
    aspects = {
        "mode": lambda r: r.get("mode"),
        "grader version": lambda r: r.get("grader_version"),
        "checks graded": check_set,
        "skipped checks": skip_set,
    }
    problems = []
    for aspect, key in aspects.items():
        groups: dict[object, list[str]] = defaultdict(list)
        for record in graded(records):
            groups[key(record)].append(sid(record))
        if len(groups) > 1:
            parts = [f"{len(ids)} with {describe(aspect, value)} ({', '.join(ids[:8])}{', …' if len(ids) > 8 else ''})"
                     for value, ids in sorted(groups.items(), key=lambda item: -len(item[1]))]
            problems.append(f"{aspect} differ: " + "; ".join(parts))
    return problems + sandbox_problems(records)


def sandbox_problems(records: list[dict]) -> list[str]:
    """One line per step whose student code ran in different sandboxes for different students. A step with
    no sandbox recorded (its code never ran: a student stopped earlier, or ran past the cap) differs from
    nothing."""
    steps: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for record in graded(records):
        for step, how in (record.get("isolation") or {}).items():
            steps[step][how].append(sid(record))
    return [f"sandbox of step {step} differ: " + "; ".join(
                f"{len(ids)} with {how} ({', '.join(ids[:8])}{', …' if len(ids) > 8 else ''})"
                for how, ids in sorted(kinds.items(), key=lambda item: -len(item[1])))
            for step, kinds in sorted(steps.items(), key=lambda item: int(item[0]) if item[0].isdigit() else 0)
            if len(kinds) > 1]


def describe(aspect: str, value: object) -> str:
    if aspect == "skipped checks":
        return ", ".join(value) if value else "none skipped"
    if aspect == "checks graded":
        return f"{len(value)} checks, {sum(points for _, points in value)} points"
    return str(value)


def possible(records: list[dict]) -> int | None:
    """The class's one denominator (None when nobody was graded)."""
    totals = {int(r["possible"]) for r in graded(records)}
    if len(totals) > 1:
        raise ValueError(f"graded records have different denominators {sorted(totals)}")
    return totals.pop() if totals else None


def reason(record: dict) -> Said:
    """Why a record was not graded, in both languages."""
    why = str(record.get("reason") or "no reason given")
    return say(f"NOT GRADED: {why}", f"GRADE করা হয়নি: {why}")


def read_report(name: str, usage: str, args: list[str], count: int) -> dict | None:
    """The ``python -m checks --json`` report named first in ``args`` (a command's arguments, ``count`` of them);
    None after printing the usage line or the one-line reason it cannot be read (the command then exits 2)."""
    if len(args) != count:
        print(f"usage: python -m {name} {usage}", file=sys.stderr)
        return None
    try:
        return json.loads(Path(args[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"error: {args[0]}: {error}", file=sys.stderr)
        return None
