"""The class's gradebook as CSV: otter-grader's ``final_grades.csv`` shape, and files Canvas and Moodle import.

- ``grades.csv``, otter's shape (``otter grade`` writes ``final_grades.csv``: its ``merge_scores_to_df``):
  ``file``, one column per question, ``total_points_earned``, ``percent_correct`` (a ratio rounded to 4
  places), ``grading_status``; the first row is ``points-per-question`` with each column's points. A
  question here is a check (its id, ``2.headers``); ``file`` holds the student id. Otter writes zeros for a
  submission that failed to grade; here a NOT GRADED row has empty scores and the reason as its status.
- ``canvas.csv``: Canvas's gradebook import (``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``,
  ``Section``, then the assignment column, ``Name (id)`` for an existing assignment or ``Name`` for a new
  one), with the export's ``Points Possible`` row. The roster's student id is the SIS User ID and its email
  the SIS Login ID; Canvas's own user ID is unknown here and left empty. NOT GRADED: an empty cell.
- ``moodle.csv``: Moodle's CSV grade import (``Email address``, mapped to the user's email, then the grade
  item). NOT GRADED: ``-``, which Moodle's importer reads as "no grade" for new and existing grade items
  alike (an empty cell is "no grade" only for an existing item). A student with no email is left out (Moodle
  abandons the whole import on a row it cannot map to a user); the instructor's report names them.

Sources in docs/sources.md. Hidden checks count in every total (the LMS files carry totals only; grades.csv
is the instructor's and names every check).
"""

from __future__ import annotations

import csv
import io

from . import records as rec

ASSIGNMENT = "Serverless AI lab"
OTTER_POSSIBLE_ROW = "points-per-question"


def to_csv(rows: list[list[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def questions(records: list[dict]) -> list[tuple[str, int]]:
    """The class's checks (id, points possible) in grading order, from the first graded record."""
    first = next(iter(rec.graded(records)), None)
    return [] if first is None else [(r["id"], int(r["possible"])) for r in first["results"]]


def grades_csv(records: list[dict]) -> str:
    """otter-grader's ``final_grades.csv`` shape: a row per submission, a column per check, total and percent."""
    columns = questions(records)
    possible = rec.possible(records)
    rows: list[list[object]] = [["file", *(c for c, _ in columns), "total_points_earned", "percent_correct",
                                 "grading_status"]]
    if possible is not None:
        rows.append([OTTER_POSSIBLE_ROW, *(p for _, p in columns), possible, 1, "--"])
    for record in sorted(records, key=rec.sid):
        if record["status"] != rec.GRADED:
            rows.append([rec.sid(record), *([""] * len(columns)), "", "", str(rec.reason(record))])
            continue
        earned = {r["id"]: r["earned"] for r in record["results"]}
        percent = round(record["earned"] / possible, 4) if possible else 0
        rows.append([rec.sid(record), *(earned[c] for c, _ in columns), record["earned"], percent, "Completed"])
    return to_csv(rows)


def canvas_csv(records: list[dict], assignment: str = ASSIGNMENT, canvas_id: str | None = None) -> str:
    """Canvas's gradebook import: the five student columns, then the assignment's points (empty: not graded)."""
    column = f"{assignment} ({canvas_id})" if canvas_id else assignment
    rows: list[list[object]] = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
                                ["    Points Possible", "", "", "", "", rec.possible(records) or ""]]
    for record in sorted(records, key=rec.sid):
        student = record["student"]
        score = record["earned"] if record["status"] == rec.GRADED else ""
        rows.append([student.get("name") or rec.sid(record), "", rec.sid(record), student.get("email") or "", "", score])
    return to_csv(rows)


def moodle_csv(records: list[dict], assignment: str = ASSIGNMENT) -> str:
    """Moodle's CSV grade import: the email to map users by, then the grade item (``-``: no grade)."""
    rows: list[list[object]] = [["Email address", assignment]]
    for record in sorted(records, key=rec.sid):
        if not record["student"].get("email"):
            continue  # Moodle abandons the whole import on a row it cannot map: the report lists who is left out
        score = record["earned"] if record["status"] == rec.GRADED else "-"
        rows.append([record["student"]["email"], score])
    return to_csv(rows)
