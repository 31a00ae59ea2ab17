"""Run the whole lab: every notebook in order, each step graded right after its notebook.

    python scripts/run_lab.py                      # what `make lab` runs
    python scripts/run_lab.py --only 01 02         # some notebooks

Executed copies go to build/notebooks/; the committed notebooks, which carry no outputs,
stay untouched. The kernel is this interpreter, so the lab runs in the virtual
environment whatever other Jupyter kernels the machine has. Steps 1-7 are graded
before the cleanup notebook runs, step 8 after it; one report closes the run.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from checks import Context, Report, all_steps, run_steps
from checks.runner import choose_isolation
from labkit import config, kernels, steps
from labkit.errors import LabError, run_cli

NOTEBOOKS = config.REPO_ROOT / "notebooks"


def step_of(notebook: Path) -> int | None:
    """The lab step a notebook teaches (``05_create_lambda`` -> 5), if it is graded."""
    number = int(re.match(r"(\d+)_", notebook.name)[1])
    return number if number in all_steps() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers to run, e.g. 01 02")
    args = parser.parse_args(argv)
    settings = config.load()
    notebooks = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if not args.only or p.name[:2] in args.only)
    if not notebooks:
        raise LabError(f"no notebooks match {args.only}")
    print(f"Running {len(notebooks)} notebook(s) with code from {settings.code!r} on target {settings.target!r}")
    results, titles, isolation, failures = [], {}, {}, []
    for notebook in notebooks:
        destination = settings.build_dir / "notebooks" / notebook.name
        number = step_of(notebook)
        if number is not None and (reason := steps.unrunnable(steps.STEPS[number], settings)):
            print(f"  {notebook.name}: skipped: {reason}")  # its checks say so too, as skipped, not failed
        elif failure := kernels.execute(notebook, destination):
            print(f"  {notebook.name}: FAILED at {failure}")
            failures.append(notebook.name)
        else:
            print(f"  {notebook.name}: ran")
        if number is not None:
            report = run_steps([number], Context(settings), isolation=choose_isolation())
            results += report.results
            titles |= report.titles
            isolation |= report.isolation
            earned, possible = report.step_score(number)
            print(f"  step {number} graded: {earned}/{possible}")
    report = Report(results, titles, isolation, lang=settings.lang)
    print("\n" + report.summary())
    latency = settings.latency_dir / "summary.json"
    if latency.exists():
        measured = json.loads(latency.read_text())
        print(f"Measured through the public URL: cold p50 {measured['cold_latency_ms']['p50']:.0f} ms, "
              f"warm p50 {measured['warm_latency_ms']['p50']:.1f} ms (details: {latency.parent})")
    if failures:
        print(f"Notebooks that stopped with an error: {', '.join(failures)} (executed copies in {destination.parent})")
    return 0 if report.passed and not failures else 1


if __name__ == "__main__":
    run_cli(main)
