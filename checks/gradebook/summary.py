"""A grading report's step table in Markdown, for a CI job summary (GitHub's ``$GITHUB_STEP_SUMMARY``)::

    python -m checks.gradebook.summary report.json >> "$GITHUB_STEP_SUMMARY"

One row per step (points, and how many checks passed, failed, were skipped), then each failed check with
its message and hint. English, with each step's Bengali title beside it.
"""

from __future__ import annotations

import sys

from . import records as rec


def cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown(report: dict) -> str:
    """The step table (and the failures) of one ``python -m checks --json`` report."""
    from labkit.steps import STEPS

    titles = {s.number: s.title for s in STEPS}
    lines = [f"### Grade: {report['earned']}/{report['possible']} points", "",
             "| step | | points | passed | failed | skipped |", "|---|---|---|---|---|---|"]
    steps = sorted({r["step"] for r in report["results"]})
    for step in steps:
        mine = [r for r in report["results"] if r["step"] == step]
        marks = [rec.mark(r) for r in mine]
        title = titles.get(step)
        lines.append(f"| {step} | {cell(title)} ({cell(getattr(title, 'bn', ''))}) | "
                     f"{sum(r['earned'] for r in mine)}/{sum(r['possible'] for r in mine)} | "
                     f"{marks.count('PASS')} | {marks.count('FAIL')} | {marks.count('SKIP')} |")
    failed = [(number, r) for number, r in rec.numbered({"results": report["results"]}) if rec.mark(r) == "FAIL"]
    if failed:
        lines += ["", "#### Failed checks", ""]
        lines += [f"- **{number} {cell(r['name'])}**: {cell(r.get('message', ''))}  \n  hint: {cell(r.get('hint', ''))}"
                  for number, r in failed]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    report = rec.read_report("checks.gradebook.summary", "REPORT.json", args, 1)
    if report is None:
        return 2
    sys.stdout.write(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
