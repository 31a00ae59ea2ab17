"""Command line of the grader.

    python -m checks                 # every step, code from LAB_CODE (default: exercises)
    python -m checks 2               # one step
    python -m checks 1 2 --code lab_solution
    python -m checks --code submissions/alice --build-dir submissions/alice/build --json

Exit status: 0 when every check passed, 1 when any failed, 2 for a usage mistake.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from labkit import config
from labkit.errors import LabError

from . import Context, all_steps, run_steps


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    steps = all_steps()
    parser = argparse.ArgumentParser(prog="python -m checks", description="Grade the Serverless AI lab, step by step.")
    parser.add_argument("steps", nargs="*", type=int, metavar="STEP", help=f"steps to grade ({min(steps)}-{max(steps)}; default all)")
    parser.add_argument("--code", help="exercises, lab_solution or a submission folder (default: LAB_CODE or exercises)")
    parser.add_argument("--build-dir", help="where the submission's model and reports are (default: LAB_BUILD_DIR or build/)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.steps) - set(steps))
    if unknown:
        parser.error(f"no step {', '.join(map(str, unknown))}; steps are {', '.join(map(str, sorted(steps)))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(stderr=True)
    try:
        settings = config.load(code=args.code, build_dir=args.build_dir and Path(args.build_dir).resolve())
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    steps = args.steps or sorted(all_steps())
    with console.status("grading…") as status:
        report = run_steps(steps, Context(settings),
                           progress=lambda check: status.update(f"step {check.step}: {check.name}"))
    if args.json:
        print(report.to_json())
    else:
        print(f"Grading {settings.code} on target {settings.target}")
        print(report.summary())
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
