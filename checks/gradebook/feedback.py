"""A student's feedback page, ``feedback.html``: Bengali first, then English, in one file, and the student's
own latency plot when the submission was deployed and measured.

Student-facing, so it honours each check's visibility: a ``hidden`` check, or an ``after_due`` one before
the due date, is not named; such checks are summed in one line each (their points count in the total).
A submission that was NOT GRADED shows the reason and no score.
"""

from __future__ import annotations

from datetime import datetime

from labkit.bilingual import Said, say, text

from . import plots
from . import records as rec
from .page import document, esc, table

WORDS = {
    "title": say("Your lab result", "তোমার lab-এর ফল"), "check": say("check", "check"),
    "result": say("result", "ফল"), "points": say("points", "পয়েন্ট"), "details": say("details", "বিস্তারিত"),
    "total": say("Total", "মোট"), "hint": say("hint", "ইঙ্গিত"),
    "latency": say("Your function's latency: cold and warm requests", "তোমার function-এর latency: cold আর warm request"),
}


def withheld_line(kind: str, group: list[dict], due: datetime | None) -> Said:
    earned, possible = sum(r["earned"] for r in group), sum(r["possible"] for r in group)
    if kind == "hidden":
        return say(f"{len(group)} hidden check(s), not shown: {earned}/{possible} points (counted in the total)",
                   f"{len(group)}টা লুকানো check, দেখানো হয় না: {earned}/{possible} পয়েন্ট (মোটে ধরা আছে)")
    when = due.strftime("%Y-%m-%d %H:%M %Z").strip() if due else "the due date"
    return say(f"{len(group)} check(s) shown after {when}: {earned}/{possible} points (counted in the total)",
               f"{len(group)}টা check দেখা যাবে {when}-এর পরে: {earned}/{possible} পয়েন্ট (মোটে ধরা আছে)")


def section(record: dict, lang: str, due: datetime | None, now: datetime) -> str:
    """The page's text in one language."""
    def word(key: str) -> str:
        return esc(text(WORDS[key], lang))

    student = record["student"]
    parts = [f"<h1>{word('title')}</h1>", f"<p>{esc(student.get('name') or rec.sid(record))} ({esc(rec.sid(record))})</p>"]
    if record.get("status") != rec.GRADED:
        parts.append(f'<p class="problem">{esc(text(rec.reason(record), lang))}</p>')
        return "\n".join(parts)
    rows, withheld, graded_in = [], {"hidden": [], "after_due": []}, record.get("lang", "bn")
    for number, result in rec.numbered(record):
        if not rec.shown(result, due, now):
            withheld[rec.visibility(result)].append(result)
            continue
        mark = rec.mark(result)
        note = esc(text(rec.said(result, "message", graded_in), lang))
        if mark == "FAIL":
            note += f'<br><span class="hint">{word("hint")}: {esc(text(rec.said(result, "hint", graded_in), lang))}</span>'
        rows.append([esc(number), esc(text(rec.said(result, "name", graded_in), lang)), f'<span class="{mark}">{mark}</span>',
                     f"{result['earned']}/{result['possible']}", note])
    for kind, group in withheld.items():
        if group:
            rows.append(["", esc(text(withheld_line(kind, group, due), lang)), "",
                         f"{sum(r['earned'] for r in group)}/{sum(r['possible'] for r in group)}", ""])
    parts.append(table(["#", word("check"), word("result"), word("points"), word("details")], rows))
    parts.append(f"<p><b>{word('total')}: {record['earned']}/{record['possible']} {word('points')}</b></p>")
    return "\n".join(parts)


def feedback_html(record: dict, *, due: datetime | None, now: datetime) -> str:
    """The whole page for one student's record."""
    body = [f'<section lang="bn">\n{section(record, "bn", due, now)}\n</section>',
            f'<section lang="en">\n{section(record, "en", due, now)}\n</section>']
    latency = record.get("latency") if record.get("status") == rec.GRADED else None
    if latency and (latency.get("cold_ms") or latency.get("warm_ms")):
        heading = f"{text(WORDS['latency'], 'bn')} / {text(WORDS['latency'], 'en')}"
        body.append(f'<section id="latency">\n<h2>{esc(heading)}</h2>\n'
                    f"{plots.latency(list(latency.get('cold_ms') or []), list(latency.get('warm_ms') or []), 'Your requests')}"
                    "\n</section>")
    return document(f"{text(WORDS['title'], 'bn')} — {rec.sid(record)}", "\n".join(body))
