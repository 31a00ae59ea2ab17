"""The instructor's class report, ``report.html``: everything, hidden checks included, in one self-contained page.

Sections (each an element with its id): ``environment`` (how the class was graded, and any environment
problem), ``scores`` (histogram), ``checks`` (pass rate per check), ``todos`` (pass rate per TODO: the share
of graded students whose every check that depends on it passed), ``failures`` (the most common failure
messages, numbers folded so that "3 requests" and "4 requests" count together), ``latency`` (each student's
median cold and warm latency across the class), ``steps`` (time per step), ``not-graded`` (who, and why)
and ``students`` (one row each).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict

from . import plots
from . import records as rec
from .page import document, esc, table

TOP_FAILURES = 10


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def quantiles(values: list[float]) -> list[str]:
    """n, median, 90th percentile and maximum, for a table row."""
    if not values:
        return ["0", "–", "–", "–"]
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return [str(len(values)), f"{statistics.median(values):,.1f}", f"{p90:,.1f}", f"{ordered[-1]:,.1f}"]


def environment(records: list[dict], problems: list[str]) -> str:
    graded = rec.graded(records)
    first = graded[0] if graded else {}
    rows = [["mode", esc(first.get("mode", "–"))], ["grader version", esc(first.get("grader_version", "–"))],
            ["sandbox", esc(", ".join(f"step {k}: {v}" for k, v in sorted((first.get("isolation") or {}).items())))],
            ["skipped checks", esc(", ".join(rec.skip_set(first)) or "none")],
            ["points possible", esc(rec.possible(records) if not problems else "differs: see above")]]
    banner = "".join(f'<p class="problem"><b>Environment problem:</b> {esc(p)}</p>' for p in problems)
    if problems:
        banner += ('<p class="problem">No gradebook and no student feedback were written: students graded '
                   "differently would get different scores for the same work. Regrade those students on the "
                   "same machine and settings as the rest (the batch's --only and --force), then write again.</p>")
    return f'<section id="environment">\n<h2>How the class was graded</h2>\n{banner}{table(["", ""], rows)}</section>'


def scores(records: list[dict]) -> str:
    graded, possible = rec.graded(records), rec.possible(records)
    if not graded or not possible:
        return '<section id="scores"><h2>Scores</h2><p>Nobody was graded.</p></section>'
    values = [r["earned"] for r in graded]
    line = (f"<p>{len(graded)} graded, {len(records) - len(graded)} not graded; median {statistics.median(values):g} "
            f"of {possible}, {sum(v == possible for v in values)} with full marks.</p>")
    return f'<section id="scores">\n<h2>Scores</h2>\n{line}{plots.score_histogram(values, possible)}\n</section>'


def checks(records: list[dict]) -> str:
    graded = rec.graded(records)
    rows = []
    for number, result in rec.numbered(graded[0]) if graded else ():
        outcomes = [next(r for r in g["results"] if r["id"] == result["id"]) for g in graded]
        passed = sum(rec.mark(o) == "PASS" for o in outcomes)
        rows.append([esc(number), esc(result["id"]), esc(result["name"]), esc(rec.visibility(result)),
                     esc(result["points"]), f"{passed}/{len(graded)} ({percent(passed, len(graded))})"])
    return (f'<section id="checks">\n<h2>Pass rate per check</h2>\n'
            f'{table(["#", "id", "check", "visibility", "points", "passed"], rows)}</section>')


def todos(records: list[dict]) -> str:
    from ..framework import all_steps, todo_label

    graded = rec.graded(records)
    depends: dict[str, list[str]] = defaultdict(list)
    order = []
    for step in all_steps().values():
        for check in step.checks:
            for todo in check.todos:
                depends[todo].append(check.id)
        order += [t for t in step.order if t not in order]
    rows = []
    for todo in (t for t in order if t in depends):
        ids = set(depends[todo])
        counted = [g for g in graded if any(r["id"] in ids for r in g["results"])]
        if not counted:
            continue
        passed = sum(all(rec.mark(r) != "FAIL" for r in g["results"] if r["id"] in ids) for g in counted)
        rows.append([esc(todo_label(todo)), esc(len(ids)), f"{passed}/{len(counted)} ({percent(passed, len(counted))})"])
    return (f'<section id="todos">\n<h2>Pass rate per TODO</h2>\n<p class="muted">A student passes a TODO when '
            "every check that depends on it passed.</p>\n"
            f'{table(["TODO", "checks", "passed"], rows)}</section>')


def failures(records: list[dict]) -> str:
    counted: Counter = Counter()
    example: dict[tuple[str, str], tuple[dict, list[str]]] = {}
    for record in rec.graded(records):
        for result in record["results"]:
            if rec.mark(result) == "FAIL":
                key = (result["id"], re.sub(r"\d+(\.\d+)?", "#", str(result.get("message", ""))))
                counted[key] += 1
                example.setdefault(key, (result, []))[1].append(rec.sid(record))
    rows = []
    for key, count in counted.most_common(TOP_FAILURES):
        result, who = example[key]
        rows.append([esc(count), f"{esc(result['id'])}<br>{esc(result['name'])}", esc(result.get("message", "")),
                     esc(", ".join(who[:6]) + (", …" if len(who) > 6 else ""))])
    return (f'<section id="failures">\n<h2>Most common failure messages</h2>\n'
            f'{table(["students", "check", "message (one of them)", "who"], rows)}</section>')


def latency(records: list[dict]) -> str:
    cold, warm, beside = [], [], []
    for record in rec.graded(records):
        measured = record.get("latency") or {}
        if measured and 7 in (record.get("past_lease") or []):
            beside.append(rec.sid(record))  # measured beside other students' work: not comparable
            continue
        if measured.get("cold_ms"):
            cold.append(statistics.median(measured["cold_ms"]))
        if measured.get("warm_ms"):
            warm.append(statistics.median(measured["warm_ms"]))
    left_out = (f'<p class="muted">Left out: {esc(", ".join(sorted(beside)))}, whose step 7 outlived its time '
                "alone in the class and went on beside other students' work.</p>\n" if beside else "")
    if not cold and not warm:
        said = "No latency was measured (code mode)." if not beside else "No latency comparable across the class."
        return f'<section id="latency"><h2>Latency across the class</h2><p>{said}</p>{left_out}</section>'
    rows = [["cold", *quantiles(cold)], ["warm", *quantiles(warm)]]
    return (f'<section id="latency">\n<h2>Latency across the class</h2>\n<p class="muted">One value per student: the '
            "median of their own requests (ms).</p>\n"
            f'{table(["", "students", "median", "p90", "max"], rows)}{left_out}'
            f"{plots.latency(cold, warm, 'Each student’s median latency')}\n</section>")


def steps(records: list[dict]) -> str:
    seconds: dict[str, list[float]] = defaultdict(list)
    for record in rec.graded(records):
        for step, value in (record.get("step_seconds") or {}).items():
            seconds[str(step)].append(float(value))
    rows = [[f"step {s}", *quantiles(seconds[s])] for s in sorted(seconds, key=int)]
    return (f'<section id="steps">\n<h2>Time per step</h2>\n{table(["", "students", "median s", "p90 s", "max s"], rows)}'
            f"{plots.step_times(dict(seconds)) if seconds else ''}\n</section>")


def not_graded(records: list[dict]) -> str:
    rows = [[esc(rec.sid(r)), esc(r["student"].get("name", "")), esc(r.get("reason") or "no reason given"),
             esc((r.get("source") or {}).get("path", ""))] for r in records if r.get("status") != rec.GRADED]
    body = table(["id", "name", "reason", "source"], rows) if rows else "<p>Everyone was graded.</p>"
    return f'<section id="not-graded">\n<h2>NOT GRADED</h2>\n{body}</section>'


def students(records: list[dict]) -> str:
    possible = rec.possible(records) if rec.graded(records) else None
    rows = []
    for r in sorted(records, key=rec.sid):
        graded = r.get("status") == rec.GRADED
        rows.append([esc(rec.sid(r)), esc(r["student"].get("name", "")), esc(r["student"].get("email") or "– (not in moodle.csv)"),
                     esc(r["earned"] if graded else ""), esc(percent(r["earned"], possible or 0) if graded else "NOT GRADED"),
                     esc(r.get("mode", "")), esc(r.get("sandboxed", "")), esc(str(r.get("submission_hash", ""))[:19]),
                     esc((r.get("source") or {}).get("commit") or ""), esc(r.get("graded_at", ""))])
    return (f'<section id="students">\n<h2>Students</h2>\n'
            f'{table(["id", "name", "email", "points", "%", "mode", "sandboxed", "submission", "commit", "graded at"], rows)}'
            "</section>")


def report_html(records: list[dict], problems: list[str]) -> str:
    """The whole class report; with ``problems``, only what can be said without one denominator."""
    parts = [f"<h1>Serverless AI lab: class report ({len(records)} submissions)</h1>", environment(records, problems)]
    if not problems:
        parts += [scores(records), checks(records), todos(records), failures(records), latency(records), steps(records)]
    parts += [not_graded(records), students(records) if not problems else problem_students(records)]
    return document("Class report", "\n".join(parts), lang="en")


def problem_students(records: list[dict]) -> str:
    """Per student, how it was graded: what an environment problem is read from."""
    rows = [[esc(rec.sid(r)), esc(r.get("status")), esc(r.get("mode", "")), esc(r.get("grader_version", "")),
             esc(", ".join(f"{k}: {v}" for k, v in sorted((r.get("isolation") or {}).items()))),
             esc(", ".join(rec.skip_set(r)) or "none"), esc(f"{r.get('earned', '')}/{r.get('possible', '')}")]
            for r in sorted(records, key=rec.sid)]
    return (f'<section id="students">\n<h2>Students: how each was graded</h2>\n'
            f'{table(["id", "status", "mode", "grader", "sandbox", "skipped", "points as graded"], rows)}</section>')
