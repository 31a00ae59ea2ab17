"""What ``run_autograder`` runs: grade ``/autograder/submission`` and write ``/autograder/results/results.json``.

    python -m checks.autograder.grade [--root /autograder] [--cap SECONDS]

The submission is graded as the class batch grades one student (:func:`checks.classroom.batch.run`, one
submission, ``--mode deploy``): its own code through steps 1-9, every call in the process sandbox, the deployment
in a private host-mode stand-in, since Gradescope's container has no Docker engine. So the checks that need Docker
(step 3's image, step 9's deployment) are skipped for every student alike (0/0), and the top ``output`` says so.
``results.json`` is :func:`checks.gradebook.gradescope.results_json` of that record: hidden checks and
``after_due`` checks before the due date (``assignment.due_date`` of ``submission_metadata.json``, when there is
one) keep their points but not their messages. A submission with its files in one folder (a zip of
``exercises/``) is graded from that folder. The grader's own files are compared before and after: a submission
that changed them (possible only where the container refuses the sandbox's namespaces) is NOT GRADED. How the code
was confined goes to ``results/stdout``, which only instructors see. Whatever goes wrong, a ``results.json`` is
written: a fault of the
grader's own is said as such (score 0, "not a grade"), never as the student's zero. Exit status 0 when
``results.json`` was written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from labkit.bilingual import say
from labkit.config import REPO_ROOT

from ..files import write_atomically

STUDENT = "submission"  # the id the record carries (Gradescope knows who it is)
DEFAULT_CAP = 1200.0  # seconds: below the 25-minute timeout the README asks for (Gradescope allows up to 40)
IMAGE_FILES = ("Dockerfile", "requirements.txt")


def code_folder(submission: Path) -> Path:
    """The folder holding the student's modules: the submission itself, or its one subfolder that holds them."""
    if any(submission.glob("*.py")) or any((submission / name).is_file() for name in IMAGE_FILES):
        return submission
    folders = [p for p in submission.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    if len(folders) == 1:
        return code_folder(folders[0])
    return submission


def metadata(root: Path) -> dict:
    try:
        found = json.loads((root / "submission_metadata.json").read_text())
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError):
        return {}


def due_date(meta: dict) -> datetime | None:
    """The assignment's due date, when Gradescope gave one (an unreadable one: none, so after_due stays hidden)."""
    value = (meta.get("assignment") or {}).get("due_date")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def grade(submission: Path, cap: float) -> dict:
    """The class batch's record of this one submission, graded in deploy mode (host-mode stand-in)."""
    from checks.classroom import batch
    from checks.classroom.sources import Submission
    from checks.context import config

    settings = config.load()
    with tempfile.TemporaryDirectory(prefix="autograder-") as out:
        options = batch.Options(Path(out), "deploy", jobs=1, cap=cap, docker="off", isolation="process",
                                lang=settings.lang, progress=False)
        outcome = batch.run([Submission(STUDENT, kind="folder", path=str(code_folder(submission)))], options)
        if not outcome.records:
            raise RuntimeError("the batch wrote no record")
        return outcome.records[0]


def skipped_note(record: dict) -> str:
    """What could not run in Gradescope's container, for everyone, said in both languages."""
    skipped = sorted({f"{r['step']}" for r in record.get("results", []) if r.get("skipped")}, key=int)
    if not skipped:
        return ""
    steps = ", ".join(skipped)
    from checks.gradebook.gradescope import both

    return both(say(f"Graded in Gradescope's container, which has no Docker engine: the deployment ran in a private "
                    f"local stand-in (host mode), and the checks that need Docker (steps {steps}) were skipped for "
                    f"every student; they count for nothing (0/0). Run `make lab` on your own machine to try them.",
                    f"Gradescope-এর container-এ Docker engine নেই: deployment চলেছে একটা private local stand-in-এ "
                    f"(host mode), আর যে check-গুলোর Docker লাগে (ধাপ {steps}) সেগুলো সবার জন্যই skip করা হয়েছে; "
                    f"সেগুলোর কোনো নম্বর নেই (0/0)। নিজের machine-এ `make lab` চালিয়ে দেখে নাও।"))


def grader_digest(source: Path) -> str:
    """A digest of the grader's files as unpacked (caches and setup.sh's ``.python`` aside)."""
    digest = hashlib.sha256()
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and "__pycache__" not in relative.parts and relative.as_posix() != ".python":
            digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def how_it_ran(record: dict) -> str:
    """One line for the instructor (``results/stdout``, which students do not see): how the code was confined."""
    from checks.sandbox import confine

    ways = sorted(set((record.get("isolation") or {}).values()))
    return (f"sandbox: {'namespaces of its own (read-only file systems)' if confine.confinable() else 'NOT confined: this container refuses namespaces'}"
            f"; steps ran as: {'; '.join(ways) or 'nothing ran'}")


def results(root: Path, cap: float, now: datetime) -> dict:
    from checks.gradebook.gradescope import both, results_json  # loaded before any student code runs

    meta = metadata(root)
    before = grader_digest(REPO_ROOT)
    record = grade(root / "submission", cap)
    print(how_it_ran(record))
    if grader_digest(REPO_ROOT) != before:
        print("the grader's files changed while the submission was graded: not graded")
        return {**fault_shape(), "output": both(say(
            "NOT GRADED: the grader's own files changed while your code ran. This is not a grade: your instructor "
            "will look at your submission.",
            "NOT GRADED: তোমার code চলার সময় grader-এর নিজের file বদলে গেছে। এটা তোমার grade নয়: তোমার "
            "instructor submission-টা দেখবেন।"))}
    found = results_json(record, due=due_date(meta), now=now)
    note = skipped_note(record)
    if note:
        found["output"] = f"{found['output']}\n\n{note}"
    return found


def fault_shape() -> dict:
    return {"score": 0.0, "execution_time": 0, "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def fault(error: BaseException) -> dict:
    """The results.json of a grader that failed: not the student's zero, and said so."""
    from checks.gradebook.gradescope import both

    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    place = f" ({Path(where.filename).name}:{where.lineno})" if where else ""
    return {**fault_shape(), "output": both(say(f"The autograder itself failed ({type(error).__name__}{place}): this is not a grade. "
                               "Submit again later, or ask your instructor to look at it.",
                               f"Autograder নিজেই ব্যর্থ হয়েছে ({type(error).__name__}{place}): এটা তোমার grade "
                               "নয়। পরে আবার submit করো, বা তোমার instructor-কে জানাও।"))}


def write(path: Path, found: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(found, indent=2, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.autograder.grade", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"),
                        help="the /autograder tree (default: AUTOGRADER_ROOT or /autograder)")
    parser.add_argument("--cap", type=float, default=DEFAULT_CAP, help="wall-clock cap of the grading (seconds)")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    try:
        found = results(root, args.cap, datetime.now(UTC))
    except Exception as error:  # noqa: BLE001 - Gradescope must get a results.json, saying it is the grader's fault
        traceback.print_exc()
        found = fault(error)
    write(root / "results" / "results.json", found)
    print(f"score {found['score']}; {len(found['tests'])} tests; results in {root / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
