"""How checks are declared, and how their results read in a terminal and a notebook.

A check is a function of a :class:`~checks.context.Context` that returns quietly
(or with a short detail) when the step is right and raises :class:`CheckFailed`
with a message when it is not. It is declared once with its name, points and a
hint that says where to look, not what the answer is::

    @STEP.check("the model file exists", points=1, hint="Run the training cell first.")
    def model_exists(ctx):
        if not ctx.settings.model_dir.joinpath("model.joblib").exists():
            raise CheckFailed("build/model/model.joblib is missing")
"""

from __future__ import annotations

import html
import importlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path


class CheckFailed(Exception):
    """The step is not right yet; the message tells the student what was observed."""


class CheckSkipped(Exception):
    """The check cannot run on this machine (e.g. no Docker engine); it neither passes nor fails."""


@dataclass(frozen=True)
class Check:
    step: int
    name: str
    points: int
    hint: str
    func: Callable
    timeout: float = 60.0
    needs: str | None = None  # name of an earlier check in the same step this one builds on


@dataclass
class Step:
    number: int
    title: str
    checks: list[Check] = field(default_factory=list)

    def check(self, name: str, *, points: int, hint: str, timeout: float = 60.0, needs: str | None = None):
        """Decorator that declares a check of this step."""
        if needs is not None and needs not in {c.name for c in self.checks}:
            raise ValueError(f"check {name!r} needs {needs!r}, which is not declared before it")

        def declare(func: Callable) -> Callable:
            self.checks.append(Check(self.number, name, points, hint, func, timeout, needs))
            return func

        return declare


STEPS: dict[int, Step] = {}


def step(number: int, title: str) -> Step:
    """Declare a lab step (once per ``checks/stepN_*.py`` module)."""
    STEPS[number] = Step(number, title)
    return STEPS[number]


def all_steps() -> dict[int, Step]:
    """Every declared step, importing the ``checks/stepN_*.py`` modules that are not imported yet.

    Lazy, so that ``checks.events`` can be imported without scikit-learn and boto3.
    """
    for module in sorted(Path(__file__).parent.glob("step[0-9]_*.py")):
        importlib.import_module(f"{__package__}.{module.stem}")  # a no-op once imported
    return dict(sorted(STEPS.items()))


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
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {"earned": self.earned, "possible": self.possible, "passed": self.passed,
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
