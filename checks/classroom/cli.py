"""``python -m checks class SOURCE --mode code|deploy --out DIR``: grade a whole class (see :mod:`checks.classroom`).

Exit status: 0 when every student was graded, 1 when some were NOT GRADED, 2 for a usage or roster mistake
(one line, nothing graded), 3 when the class was graded in mixed environments (the scores are not comparable),
4 when the grades were written but the gradebook's class files were not.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC
from pathlib import Path

from labkit.errors import LabError

from ..context import config
from . import batch, sources

EXAMPLES = """examples:
  python -m checks class submissions/ --mode code --out grades/
        one subfolder per student (its name is the student id); steps 1-3, no cloud
  python -m checks class roster.csv --mode deploy --out grades/ --due 2026-12-01T23:59+06:00
        roster columns student_id,name,email,source[,submitted_at]; a source is a folder, a .zip or a git
        repository (graded at its last commit before --due); steps 1-9, each in a private stand-in
  python -m checks class roster.csv --mode code --out grades/ --only alice bob --force
        regrade two students (their earlier records go to grades/history/)

Run it again after a change: unchanged submissions graded by the same grader are not graded again, and a
regrade prints who changed. Per student: DIR/students/<id>/grade.json (and the gradebook's files).
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m checks class", description="Grade every submission of a class.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", metavar="SOURCE", help="a folder of submission folders, or a roster .csv")
    parser.add_argument("--mode", choices=("code", "deploy"), required=True,
                        help="code: steps 1-3 offline; deploy: steps 1-9, each submission in its own stand-in "
                             "(Docker mode where the engine runs and the grader is root; otherwise host mode, and "
                             "the checks that need Docker, step 3's image and step 9's deploy, are skipped for "
                             "everyone; LAB_DOCKER=off chooses host mode)")
    parser.add_argument("--out", required=True, metavar="DIR", help="where the grades go (kept between runs)")
    parser.add_argument("--jobs", type=int, metavar="N", help="submissions graded at once (default: the cores "
                                                                "in code mode, one more in deploy mode, as memory allows)")
    parser.add_argument("--due", metavar="TIME", help="ISO 8601 due time: git sources are graded at their last "
                                                       "commit before it (no zone: UTC)")
    parser.add_argument("--only", nargs="+", metavar="ID", help="grade only these students")
    parser.add_argument("--force", action="store_true", help="grade again even when nothing changed")
    parser.add_argument("--cap", type=float, default=None, metavar="SECONDS",
                        help="wall-clock cap per submission (default: 300 in code mode, 600 in deploy mode)")
    parser.add_argument("--step-timeout", type=float, metavar="SECONDS", help="budget of each sandboxed call and step")
    parser.add_argument("--sandbox", choices=("auto", "docker", "process"), default="auto",
                        help="how steps 1-2 run the code (see python -m checks --help); one choice for the class")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.jobs is not None and not 1 <= args.jobs <= 64:
        parser.error("--jobs must be between 1 and 64")
    if args.cap is not None and not 10 <= args.cap <= 7200:
        parser.error("--cap must be between 10 and 7200 seconds")
    if args.step_timeout is not None and not 1 <= args.step_timeout <= 3600:
        parser.error("--step-timeout must be between 1 and 3600 seconds")
    return args


def deploy_docker(settings: config.Settings) -> str:
    """``auto`` when deploy mode can build, push and run each submission's images: a running engine, and children
    that get a network namespace of their own, where only their stand-in and their Docker gate lead anywhere
    (:mod:`checks.sandbox.dockergate`); ``off`` otherwise (host-mode stand-ins, for the whole class)."""
    from labkit import dockercli

    from ..sandbox import confine, tunnel

    usable = settings.docker != "off" and tunnel.available() and confine.confinable()
    return "auto" if usable and dockercli.engine_version() else "off"


def stopped(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: the batch's ``finally`` blocks run (Python's default would skip them)."""
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from ..runner import choose_isolation

    try:
        due = sources.parse_time(args.due, "--due") if args.due else None
        submissions = sources.load(Path(args.source).resolve())
        unknown = sorted(set(args.only or ()) - {s.id for s in submissions})
        if unknown:
            raise sources.RosterError(f"--only: no student {', '.join(unknown)} in {args.source}")
        settings = config.load()
        out = Path(args.out).resolve()
        out.mkdir(parents=True, exist_ok=True)
        isolation = choose_isolation(args.sandbox)
    except (sources.RosterError, LabError, RuntimeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    docker = settings.docker if args.mode == "code" else deploy_docker(settings)
    options = batch.Options(out, args.mode, args.jobs or batch.default_jobs(args.mode),
                            args.cap or (600.0 if args.mode == "deploy" else 300.0), due, tuple(args.only or ()),
                            args.force, args.step_timeout, docker, isolation, settings.lang, not args.no_progress)
    signal.signal(signal.SIGTERM, stopped)  # a terminated batch still stops its workers and their stand-ins
    try:
        outcome = batch.run(submissions, options)
    except KeyboardInterrupt:
        print("class: interrupted; the students graded so far keep their records (run it again to go on)",
              file=sys.stderr)
        return 130
    status = report(outcome)
    try:
        write_gradebook(out, outcome.records, due)
    except Exception as error:  # noqa: BLE001 - the grades are written; say what failed after them, in one line
        print(f"error: the gradebook could not write the class's files ({type(error).__name__}: {error})",
              file=sys.stderr)
        return 3 if outcome.problems else 4  # an environment problem: the gradebook refuses it too
    return status


def write_gradebook(out: Path, records: list[dict], due) -> None:
    """The gradebook's class files, when the gradebook is installed (otherwise grade.json files only)."""
    from datetime import datetime

    try:
        from ..gradebook import write_class
    except ImportError:
        return
    write_class(out, records, due=due, now=datetime.now(UTC))


def report(outcome: batch.Outcome) -> int:
    not_graded = [r for r in outcome.records if r.get("status") != "graded"]
    print(f"graded {len(outcome.graded)}, reused {len(outcome.reused)} unchanged, "
          f"{len(not_graded)} NOT GRADED, in {outcome.seconds:.0f} s")
    for found in not_graded:
        print(f"  {found['student']['id']}: {found.get('reason')}")
    if outcome.seed:
        print(outcome.seed)
    if outcome.changed:
        print("changed since the last grading:")
        for line in outcome.changed:
            print(f"  {line}")
    if outcome.problems:
        for problem in outcome.problems:
            print(f"environment problem: {problem}", file=sys.stderr)
        return 3
    return 1 if not_graded else 0
