"""One submission's grading process: ``python -m checks.classroom.worker JOB.json`` (started by :mod:`.batch`).

Each submission is graded in a process of its own, so that the sandbox's reaper (which kills every
orphan this process adopted) and a fault of the grader concern this submission only. The worker
becomes a child subreaper: whatever the submission or its stand-in leaves is its to kill. It writes
the record to the job's ``out`` file; a fault of the grader's own code becomes a ``not_graded`` record
whose reason starts with ``grader fault:``, never a student's zero. The batch kills the worker (and
everything below it) when it runs past the cap.
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from pathlib import Path

from labkit.config import REPO_ROOT

from ..sandbox import forkserver, reaper
from . import driver, record


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    reaper.become_subreaper()
    if job.get("forkserver"):
        forkserver.share(Path(job["forkserver"]), str(REPO_ROOT), tempfile.gettempdir())
    try:
        graded = {**job["base"], **driver.grade(job)}
    except driver.CapReached as cap:
        graded = record.not_graded(job["base"], str(cap))
    except Exception as error:  # noqa: BLE001 - the grader's own fault: said as such, with where it happened
        where = traceback.extract_tb(error.__traceback__)[-1]
        first = (str(error).strip().splitlines() or [""])[0][:200]
        graded = record.not_graded(job["base"], f"grader fault: {type(error).__name__}: {first} "
                                                f"({Path(where.filename).name}:{where.lineno})")
        traceback.print_exc()
    graded["graded_at"] = record.now()
    record.write(Path(job["out"]), graded)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
