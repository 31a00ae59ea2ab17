"""Results of a grading run, and how they read: text in a terminal, a table in a notebook, JSON for machines."""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Result:
    step: int
    name: str
    points: int
    passed: bool
    message: str = ""  # what was observed: a detail on success, the problem on failure
    hint: str = ""
    skipped: bool = False  # could not run here; counts for nothing either way

    @property
    def earned(self) -> int:
        return self.points if self.passed else 0

    @property
    def possible(self) -> int:
        return 0 if self.skipped else self.points

    @property
    def mark(self) -> str:
        return "SKIP" if self.skipped else "PASS" if self.passed else "FAIL"


@dataclass
class Report:
    """The results of one grading run; prints as text, renders as HTML in Jupyter."""

    results: list[Result]
    titles: dict[int, str]
    isolation: dict[int, str] = field(default_factory=dict)  # per step: how the student's code ran

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

    def summary(self) -> str:
        """A plain-text report: one line per check, hints under failures, totals."""
        lines = []
        for number in sorted({r.step for r in self.results}):
            earned, possible = self.step_score(number)
            lines.append(f"Step {number}: {self.titles.get(number, '')}  [{earned}/{possible}]")
            for r in (r for r in self.results if r.step == number):
                lines.append(f"  {r.mark}  {r.name} ({r.earned}/{r.possible})" + (f" - {r.message}" if r.message else ""))
                if r.mark == "FAIL" and r.hint:
                    lines.append(f"        hint: {r.hint}")
        failed, skipped = sum(r.mark == "FAIL" for r in self.results), sum(r.skipped for r in self.results)
        verdict = f"{failed} check(s) failed" if failed else "all checks passed"
        verdict += f", {skipped} skipped" if skipped else ""
        lines.append(f"Total: {self.earned}/{self.possible} points, {verdict}")
        if not self.sandboxed:
            outside = ", ".join(str(n) for n, how in sorted(self.isolation.items()) if how != "docker")
            lines.append(f"Not sandboxed: step(s) {outside} ran the code in a process with resource limits, not a container")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {"earned": self.earned, "possible": self.possible, "passed": self.passed, "sandboxed": self.sandboxed,
             "isolation": {str(k): v for k, v in self.isolation.items()},
             "results": [{**asdict(r), "earned": r.earned, "possible": r.possible} for r in self.results]},
            indent=2,
        )

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        rows = []
        for r in self.results:
            colour = {"PASS": "#1a7f37", "FAIL": "#cf222e", "SKIP": "#9a6700"}[r.mark]
            note = html.escape(r.message) + (
                f"<br><i>hint: {html.escape(r.hint)}</i>" if r.mark == "FAIL" and r.hint else ""
            )
            rows.append(
                f"<tr><td>{r.step}</td><td>{html.escape(r.name)}</td>"
                f"<td style='color:{colour};font-weight:bold'>{r.mark}</td>"
                f"<td>{r.earned}/{r.possible}</td><td style='text-align:left'>{note}</td></tr>"
            )
        return (
            "<table><thead><tr><th>step</th><th>check</th><th>result</th><th>points</th>"
            "<th style='text-align:left'>details</th></tr></thead><tbody>" + "".join(rows) + "</tbody>"
            f"<tfoot><tr><td></td><td><b>total</b></td><td></td><td><b>{self.earned}/{self.possible}</b></td>"
            "<td></td></tr></tfoot></table>"
        )
