"""A graded class's outputs: what students read, what the instructor reads, what the LMS imports.

:func:`write_class` takes the batch's records (:mod:`checks.gradebook.records`) and writes, in one step
(:mod:`checks.gradebook.publish`: the folder holds the previous complete set or the new one)::

    DIR/students/<id>/results.json   Gradescope's autograder results        (student-facing)
    DIR/students/<id>/feedback.html  Bengali, then English; own latency plot (student-facing)
    DIR/grades.csv                   otter-grader's final_grades.csv shape  (instructor)
    DIR/canvas.csv, DIR/moodle.csv   gradebook imports                      (instructor)
    DIR/junit.xml                    a testsuite per student, a testcase per check
    DIR/report.html                  the class report: everything, hidden checks included

Student-facing files honour each check's visibility (:data:`checks.framework.VISIBILITIES`); the batch's
own ``students/<id>/grade.json`` (the record) is left as it is. Fairness first: when the graded records
were not all graded alike (mode, sandbox, skipped checks, grader version), the folder gets only
``report.html``, saying who differs, and :class:`EnvironmentProblem` is raised: different environments
are never turned into different scores.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .records import EnvironmentProblem

__all__ = ["EnvironmentProblem", "write_class"]

CLASS_FILES = ("grades.csv", "canvas.csv", "moodle.csv", "junit.xml", "report.html")
STUDENT_FILES = ("results.json", "feedback.html")


def owned(relative: Path) -> bool:
    """Whether a path inside DIR is one this module writes (everything else in DIR is kept as it is)."""
    parts = relative.parts
    return (len(parts) == 1 and parts[0] in CLASS_FILES) or (
        len(parts) == 3 and parts[0] == "students" and parts[2] in STUDENT_FILES)


def write_class(out_dir: Path, records: list[dict], *, due: datetime | None, now: datetime) -> None:
    """Write the class's outputs into ``out_dir`` (see the module docstring), replacing the previous set at once.

    Args:
        out_dir: the run's folder; ``students/<id>/grade.json`` and anything else there that is not
            written here stay.
        records: one per student (graded or not graded), as :mod:`checks.gradebook.records` describes.
        due: the due date (``after_due`` checks are shown to students from then on); None: not yet known.
        now: the time the student-facing files are written for.

    Raises:
        ValueError: a record without a usable, distinct student id, or with an unknown status; ``due`` and
            ``now`` not alike in carrying a time zone.
        EnvironmentProblem: the graded records were not graded alike; only ``report.html`` was written.
    """
    import json

    from . import classreport, feedback, gradescope, junit, lms
    from . import records as rec
    from .publish import replace_set

    if due is not None and (due.tzinfo is None) != (now.tzinfo is None):
        raise ValueError("due and now must both carry a time zone, or neither")
    rec.check_ids(records)
    problems = rec.environment_problems(records)

    def write(staging: Path) -> None:
        (staging / "report.html").write_text(classreport.report_html(records, problems), encoding="utf-8")
        if problems:
            return
        files = {"grades.csv": lms.grades_csv(records), "canvas.csv": lms.canvas_csv(records),
                 "moodle.csv": lms.moodle_csv(records), "junit.xml": junit.junit_xml(records)}
        for name, content in files.items():
            (staging / name).write_text(content, encoding="utf-8")
        for record in records:
            folder = staging / "students" / rec.sid(record)
            folder.mkdir(parents=True, exist_ok=True)
            results = gradescope.results_json(record, due=due, now=now)
            (folder / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            (folder / "feedback.html").write_text(feedback.feedback_html(record, due=due, now=now), encoding="utf-8")

    replace_set(Path(out_dir), write, owned)
    if problems:
        raise EnvironmentProblem(problems, Path(out_dir) / "report.html")
