"""Grade a whole class: ``python -m checks class SOURCE --mode code|deploy --out DIR`` (:mod:`.cli`).

- :mod:`.sources`: the submissions (a folder of folders, or a roster CSV of folders, zips and git repositories)
  and the grader's own copy of each;
- :mod:`.batch`: which to grade (resume, ``--only``, ``--force``), the workers in parallel under a cap each, the
  history of regrades, the fairness of the class;
- :mod:`.worker` and :mod:`.driver`: one submission, in a process of its own: its code driven through the lab in
  notebook order (every call in the sandbox; deploy mode in a private stand-in) and each step graded;
- :mod:`.locks`: the class-wide locks (step 7's timing alone, image builds limited);
- :mod:`.record`: the per-student record below, its key and its history.

The record, ``DIR/students/<id>/grade.json`` (what the gradebook reads; written atomically)::

    the object `python -m checks --json` prints: earned, possible, passed, sandboxed, isolation, lang, results[...]
    "student":        {"id", "name", "email"}
    "status":         "graded" | "not_graded"
    "reason":         null, or why not graded: "NOT GRADED: ran past its 300 s cap", "NOT GRADED: <the source's
                      problem>", "grader fault: <the grader's own error>" (never a student's zero)
    "mode":           "code" | "deploy"
    "seed":           the seed the grader's random cases were drawn from (a regrade reuses it); null if not graded
    "grader_version": a digest of the grader's sources (checks, labkit, localcloud, lambda_rie; not the gradebook)
    "submission_hash": "sha256:…" of the submission's modules and image files, as graded
    "source":         {"kind": "folder"|"zip"|"git", "path", "commit": str|null, "submitted_at": ISO|null}
    "environment":    {"docker": "auto"|"off", "isolation": "docker"|"process"}: how the class was graded
    "step_seconds":   {"1": float, ...}: each step's time (driving and grading, lock waits excluded)
    "latency":        {"cold_ms": [...], "warm_ms": [...]}: deploy mode, the student's own step-7 measurement
                      (its samples.csv, as the grader kept it); null in code mode or when there is none
    "driven":         {"train": "ok (2.1 s)" | "error: … (s)", ...}: each notebook operation the driver ran, and its time
    "past_lease":     [7, ...]: steps whose class lock (step 7's quiet, a build slot) was let go before they ended
                      (:mod:`.locks`): they ran beside the class from then on, and their times are not comparable
    "graded_at":      ISO 8601 time (UTC)

A ``not_graded`` record has ``earned`` = ``possible`` = 0 and no results. The records of the class are then
passed to the gradebook package's ``write_class(out_dir, records, due=..., now=...)``, when it is installed.
"""
