"""Gradescope's ``results.json`` for one student (the autograder specification's output format).

One test per check: ``score``, ``max_score``, ``status`` (``passed``/``failed``), ``name``, ``number``
(``4.2``: step 4's second check), ``output`` (what was observed, then the hint; Bengali first, then English)
and ``visibility``; at the top ``score``, ``execution_time`` (seconds), ``output`` and ``visibility``.
Spec: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (docs/sources.md).

The file is student-facing: a check that is ``hidden``, or ``after_due`` before the due date, keeps its
score and points (they count in the total) and Gradescope's matching ``visibility``, but not its name or
message. A skipped check could not run here and counts for nothing: ``0/0``, ``passed`` as Gradescope
itself shows a full ``0/0``, tagged ``skipped``. A submission that was NOT GRADED gets score 0 with the
reason at the top: Gradescope needs a number, and the instructor's report lists it as not graded.
"""

from __future__ import annotations

from datetime import datetime

from labkit.bilingual import say, text

from . import records as rec


def both(value: object, separator: str = "\n\n") -> str:
    """Bengali first, then English (once when they are the same)."""
    bn, en = text(value, "bn"), text(value, "en")
    return bn if bn == en else f"{bn}{separator}{en}"


def one_test(number: str, result: dict, lang: str, due: datetime | None, now: datetime) -> dict:
    """One Gradescope test for one check's result."""
    test = {"score": float(result["earned"]), "max_score": float(result["possible"]),
            "status": "failed" if rec.mark(result) == "FAIL" else "passed", "number": number,
            "visibility": rec.GRADESCOPE_VISIBILITY[rec.visibility(result)]}
    if result.get("skipped"):
        test["tags"] = ["skipped"]
    if not rec.shown(result, due, now):
        kind = rec.visibility(result)
        test["name"] = both(say("hidden check", "লুকানো check") if kind == "hidden"
                            else say("shown after the due date", "due date-এর পরে দেখা যাবে"), " / ")
        test["output"] = ""
        return test
    name = rec.said(result, "name", lang)
    message, hint = rec.said(result, "message", lang), rec.said(result, "hint", lang)
    lines = []
    for language in ("bn", "en"):
        part = [text(message, language)] if text(message, language) else []
        if rec.mark(result) == "FAIL" and text(hint, language):
            part.append(("ইঙ্গিত: " if language == "bn" else "hint: ") + text(hint, language))
        if rec.mark(result) == "SKIP":
            part.insert(0, "SKIPPED" if language == "en" else "SKIP করা হয়েছে")
        if part and "\n".join(part) not in lines:
            lines.append("\n".join(part))
    test["name"] = both(name, " / ")
    test["output"] = "\n\n".join(lines)
    return test


def results_json(record: dict, *, due: datetime | None, now: datetime) -> dict:
    """The ``results.json`` object for one student's record."""
    seconds = sum(float(s) for s in (record.get("step_seconds") or {}).values())
    out = {"execution_time": round(seconds), "visibility": "visible", "stdout_visibility": "hidden",
           "extra_data": {"grader_version": record.get("grader_version"), "mode": record.get("mode"),
                          "submission_hash": record.get("submission_hash")}}
    if record.get("status") != rec.GRADED:
        return {**out, "score": 0.0, "output": both(rec.reason(record) + say(
            " — this is not a grade: your instructor will look at your submission.",
            " — এটা তোমার grade নয়: তোমার instructor submission-টা দেখবেন।")), "tests": []}
    lang = record.get("lang", "bn")
    tests = [one_test(number, result, lang, due, now) for number, result in rec.numbered(record)]
    earned, possible = record["earned"], record["possible"]
    summary = say(f"{earned}/{possible} points", f"{earned}/{possible} পয়েন্ট")
    return {**out, "score": float(earned), "output": both(summary), "tests": tests}
