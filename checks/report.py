"""Results of a grading run, and how they read: text in a terminal, a table in a notebook, JSON for machines.

A report is shown in its language (``LAB_LANG``: Bengali by default, or English): step titles,
check names and hints (:mod:`checks.texts`), messages (built in both languages,
:mod:`labkit.bilingual`) and the report's own words. PASS, FAIL and SKIP stay as they are.
The JSON keeps its English keys, names and messages (what tools and the tests read) and adds,
per result, ``text``: its name, hint and message in the report's ``lang``, and ``visibility``: who
sees the check in the class outputs written for students (:mod:`checks.gradebook`).

Whether the student's code ran in a container (``sandboxed``, ``isolation``) is for the
instructor who grades submissions: the JSON always says it; the text says it only when asked
(``summary(sandbox_note=True)``: ``python -m checks --code FOLDER``), never in a student's own
grade in a notebook, where it would only alarm.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field

from labkit.bilingual import say, text

from . import texts

ALL_PASSED = say("all checks passed", "সব check pass করেছে")
WORDS = {  # the report's fixed words
    "step": say("Step", "ধাপ"), "check": say("check", "check"), "result": say("result", "ফল"),
    "points": say("points", "পয়েন্ট"), "details": say("details", "বিস্তারিত"), "total": say("total", "মোট"),
    "Total": say("Total", "মোট"),
}


@dataclass(frozen=True)
class Result:
    step: int
    name: str  # as declared: English, stable (tools and tests key on it)
    points: int
    passed: bool
    message: str = ""  # what was observed: a detail on success, the problem on failure (a Said: both languages)
    hint: str = ""
    skipped: bool = False  # could not run here; counts for nothing either way
    id: str = ""  # the check's id, STEP.FUNCTION (its Bengali name and hint are found by it)
    visibility: str = "visible"  # as declared (checks.framework.VISIBILITIES): what the class outputs show students

    @property
    def earned(self) -> int:
        return self.points if self.passed else 0

    @property
    def possible(self) -> int:
        return 0 if self.skipped else self.points

    @property
    def mark(self) -> str:
        return "SKIP" if self.skipped else "PASS" if self.passed else "FAIL"

    def shown(self, lang: str) -> dict[str, str]:
        """Its name, hint and message in ``lang``."""
        return {"name": texts.of_check(self.id, "name", self.name, lang),
                "hint": texts.of_check(self.id, "hint", self.hint, lang), "message": text(self.message, lang)}


@dataclass
class Report:
    """The results of one grading run; prints as text, renders as HTML in Jupyter."""

    results: list[Result]
    titles: dict[int, str]  # labkit.steps' titles: a Said carries its Bengali
    isolation: dict[int, str] = field(default_factory=dict)  # per step: how the student's code ran
    lang: str = "bn"  # LAB_LANG of the run

    @property
    def sandboxed(self) -> bool:
        """Every step that ran student code ran it in a container."""
        return all(how == "docker" for how in self.isolation.values())

    @property
    def passed(self) -> bool:
        return all(r.passed or r.skipped for r in self.results)

    @property
    def earned(self) -> int:
        return sum(r.earned for r in self.results)

    @property
    def possible(self) -> int:
        return sum(r.possible for r in self.results)

    def step_score(self, number: int) -> tuple[int, int]:
        mine = [r for r in self.results if r.step == number]
        return sum(r.earned for r in mine), sum(r.possible for r in mine)

    def verdict(self) -> str:
        """``all checks passed`` or how many failed, and how many were skipped (both languages)."""
        failed, skipped = sum(r.mark == "FAIL" for r in self.results), sum(r.skipped for r in self.results)
        said = say(f"{failed} check(s) failed", f"{failed}টা check fail করেছে") if failed else ALL_PASSED
        return said + (say(f", {skipped} skipped", f", {skipped}টা skip হয়েছে") if skipped else "")

    def sandbox_note(self) -> str:
        """For the instructor: which steps ran the code in a process with limits instead of a container."""
        outside = ", ".join(str(n) for n, how in sorted(self.isolation.items()) if how != "docker")
        return say(f"Not sandboxed: step(s) {outside} ran the code in a process with resource limits, not a container",
                   f"Sandbox-এ নয়: ধাপ {outside}-এর code container-এ নয়, resource limit দেওয়া একটা process-এ চলেছে")

    def summary(self, lang: str | None = None, *, sandbox_note: bool = False) -> str:
        """A plain-text report: one line per check, hints under failures, totals.

        Args:
            lang: ``bn`` or ``en``; default: the report's.
            sandbox_note: add the instructor's line when some step's code did not run in a container.
        """
        lang = lang or self.lang
        lines = []
        for number in sorted({r.step for r in self.results}):
            earned, possible = self.step_score(number)
            lines.append(f"{text(WORDS['step'], lang)} {number}: {text(self.titles.get(number, ''), lang)}  "
                         f"[{earned}/{possible}]")
            for r in (r for r in self.results if r.step == number):
                shown = r.shown(lang)
                lines.append(f"  {r.mark}  {shown['name']} ({r.earned}/{r.possible})" +
                             (f" - {shown['message']}" if shown["message"] else ""))
                if r.mark == "FAIL" and shown["hint"]:
                    lines.append(f"        hint: {shown['hint']}")
        lines.append(f"{text(WORDS['Total'], lang)}: {self.earned}/{self.possible} {text(WORDS['points'], lang)}, "
                     f"{text(self.verdict(), lang)}")
        if sandbox_note and not self.sandboxed:
            lines.append(text(self.sandbox_note(), lang))
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {"earned": self.earned, "possible": self.possible, "passed": self.passed, "sandboxed": self.sandboxed,
             "isolation": {str(k): v for k, v in self.isolation.items()}, "lang": self.lang,
             "results": [{**asdict(r), "earned": r.earned, "possible": r.possible, "text": r.shown(self.lang)}
                         for r in self.results]},
            indent=2,
        )

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        def word(key: str) -> str:
            return html.escape(text(WORDS[key], self.lang))

        rows = []
        for r in self.results:
            colour = {"PASS": "#1a7f37", "FAIL": "#cf222e", "SKIP": "#9a6700"}[r.mark]
            shown = r.shown(self.lang)
            note = html.escape(shown["message"]) + (
                f"<br><i>hint: {html.escape(shown['hint'])}</i>" if r.mark == "FAIL" and shown["hint"] else ""
            )
            rows.append(
                f"<tr><td>{r.step}</td><td>{html.escape(shown['name'])}</td>"
                f"<td style='color:{colour};font-weight:bold'>{r.mark}</td>"
                f"<td>{r.earned}/{r.possible}</td><td style='text-align:left'>{note}</td></tr>"
            )
        return (
            f"<table><thead><tr><th>{word('step')}</th><th>{word('check')}</th><th>{word('result')}</th>"
            f"<th>{word('points')}</th><th style='text-align:left'>{word('details')}</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody>"
            f"<tfoot><tr><td></td><td><b>{word('total')}</b></td><td></td><td><b>{self.earned}/{self.possible}</b></td>"
            f"<td style='text-align:left'>{html.escape(text(self.verdict(), self.lang))}</td></tr></tfoot></table>"
        )
