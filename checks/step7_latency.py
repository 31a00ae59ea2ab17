"""Step 7: an honest cold-vs-warm measurement: a consistent report, a plot, a live endpoint, and figures that are
the endpoint's.

The report is judged by independent measures, not only by agreeing with itself: every request of
samples.csv against the REPORT line Lambda logged for it (read by the grader from the function's log:
a client waits at least as long as Lambda ran it, and on a cold start at least its Init Duration), and
the latencies against the grader's own timing of the same endpoint, cold and warm (same order of
magnitude: within :data:`FACTOR`).
"""

from __future__ import annotations

import csv
import json
import math
import time
from types import SimpleNamespace

import numpy as np
import requests

from labkit import timing
from labkit.errors import LabError

from . import cloud
from .context import SETOSA
from .framework import CheckFailed, joined, say, step

STEP = step(7)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_REPORT_BYTES = 5_000_000
LATENCY, SUMMARIZE = "latency.py:measure", "latency.py:summarize"
REQUESTS_PER_ROUND = 10  # at least: notebook 07's measure(..., requests_per_round=10), also measure()'s default
OWN_WARM = 5  # the grader's own warm requests, after its own forced cold start
FACTOR = 30  # the student's p50s lie within this factor of the grader's own: under √1000, so a unit mistake never does
MAX_LOG_EVENTS = 50_000  # REPORT lines the grader reads looking for the samples' request ids
LIVE = "the endpoint is live: the grader's own cold and warm requests answer 200"


def _report_file(run, name: str):
    path = run.settings.latency_dir / name
    if not path.is_file():
        raise CheckFailed(say(f"{name} not found in {path.parent}", f"{path.parent}-এ {name} নেই"))
    if path.stat().st_size > MAX_REPORT_BYTES:
        raise CheckFailed(say(f"{name} is implausibly large", f"{name} অবিশ্বাস্য রকম বড়"))
    return path


def _samples(run) -> list[SimpleNamespace]:
    """The measured requests, as the grader reads samples.csv."""
    try:
        with _report_file(run, "samples.csv").open() as handle:
            return [SimpleNamespace(round=int(r["round"]), position=int(r["position"]),
                                    latency_ms=float(r["latency_ms"]), status=int(r["status"]),
                                    cold_start={"True": True, "False": False}.get(r["cold_start"]),
                                    request_id=r.get("request_id") or "",
                                    duration_ms=_optional(r.get("duration_ms")), init_ms=_optional(r.get("init_ms")))
                    for r in csv.DictReader(handle)]
    except (ValueError, KeyError, TypeError) as error:
        raise CheckFailed(say(f"samples.csv cannot be read: {error}", f"samples.csv পড়া যায় না: {error}")) from None


def _optional(value: str | None) -> float | None:
    return float(value) if value else None  # csv writes None as an empty field


def _summary(run) -> dict:
    """The summary the student's summarize() produced."""
    try:
        summary = json.loads(_report_file(run, "summary.json").read_text())
    except ValueError as error:
        raise CheckFailed(say(f"summary.json cannot be read: {error}", f"summary.json পড়া যায় না: {error}")) from None
    return summary if isinstance(summary, dict) else {}


def percentiles(values: list[float]) -> dict:
    """The grader's own p50/p95/max (as the lab documents them: NumPy percentiles, 2 decimals)."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {"n": len(values), "p50": round(float(np.percentile(values, 50)), 2),
            "p95": round(float(np.percentile(values, 95)), 2), "max": round(max(values), 2)}


def expected_summary(samples: list[SimpleNamespace]) -> dict:
    """The grader's own summary of the samples: every key of summarize()'s contract."""
    cold = [s for s in samples if s.position == 1]
    warm = [s for s in samples if s.position > 1]
    summary = {"requests": len(samples), "rounds": len({s.round for s in samples}),
               "statuses": sorted({s.status for s in samples}),
               "cold_latency_ms": percentiles([s.latency_ms for s in cold]),
               "warm_latency_ms": percentiles([s.latency_ms for s in warm]),
               "init_duration_ms": percentiles([s.init_ms for s in cold if s.init_ms is not None]),
               "warm_duration_ms": percentiles([s.duration_ms for s in warm if s.duration_ms is not None]),
               "handler_saw_cold": [s.cold_start for s in samples]}
    cold_p50, warm_p50 = summary["cold_latency_ms"]["p50"], summary["warm_latency_ms"]["p50"]
    summary["cold_to_warm_p50"] = round(cold_p50 / warm_p50, 1) if cold_p50 and warm_p50 else None
    return summary


@STEP.check("the report exists: at least 10 requests, all answered 200", points=2, todos=(LATENCY,),
            hint="Run the measurement (notebook 07 or `python -m <code>.latency`); it writes build/latency/.")
def report_exists(run):
    samples = _samples(run)
    if len(samples) < 10:
        raise CheckFailed(say(f"only {len(samples)} requests", f"মাত্র {len(samples)}টা request"))
    statuses = sorted({s.status for s in samples})
    if statuses != [200]:
        raise CheckFailed(say(f"statuses {statuses}", f"status-গুলো {statuses}, সবই 200 নয়"))
    rounds: dict[int, list[int]] = {}
    for s in samples:
        rounds.setdefault(s.round, []).append(s.position)
    size = max(REQUESTS_PER_ROUND, *(len(positions) for positions in rounds.values()))
    wrong = {n: len(positions) for n, positions in rounds.items() if sorted(positions) != list(range(1, size + 1))}
    if wrong:
        per_round = ", ".join(f"round {n}: {count}" for n, count in sorted(wrong.items())[:4])
        raise CheckFailed(say(f"every round must hold positions 1..{size} (requests_per_round, at least "
                              f"{REQUESTS_PER_ROUND}); requests per round: {per_round}",
                              f"প্রতিটা round-এ position 1..{size} থাকতে হবে (requests_per_round, অন্তত "
                              f"{REQUESTS_PER_ROUND}); প্রতি round-এ request: {per_round}"))


@STEP.check("the first request of each round was cold, the others warm", points=2, todos=(LATENCY,),
            needs="the report exists: at least 10 requests, all answered 200",
            hint="Force the cold start before each round (change the configuration and wait), then send requests one at a time.")
def cold_then_warm(run):
    samples = _samples(run)
    wrong = [say(f"round {s.round} request {s.position}: cold_start={s.cold_start}",
                 f"round {s.round}-এর request {s.position}: cold_start={s.cold_start}")
             for s in samples if s.cold_start is not (s.position == 1)]
    if wrong:
        raise CheckFailed(joined(wrong[:4]))


@STEP.check("cold p50 is above warm p50, and the summary matches the samples", points=2, todos=(SUMMARIZE,),
            needs="the report exists: at least 10 requests, all answered 200",
            hint="Compute the summary from the samples you wrote (positions 1 = cold, the rest warm); never type numbers in.")
def summary_consistent(run):
    samples, summary = _samples(run), _summary(run)
    expected = expected_summary(samples)
    for key, value in expected.items():
        if key not in summary:
            raise CheckFailed(say(f"summary.json has no {key!r}; summarize()'s docstring lists every key",
                                  f"summary.json-এ {key!r} নেই; summarize()-এর docstring-এ সব key-র তালিকা আছে"))
        if summary[key] != value:
            found, wanted = str(summary[key])[:150], str(value)[:150]
            raise CheckFailed(say(f"summary.json {key} is {found}; the samples give {wanted}",
                                  f"summary.json-এ {key} হলো {found}; sample থেকে আসে {wanted}"))
    cold, warm = expected["cold_latency_ms"]["p50"], expected["warm_latency_ms"]["p50"]
    if not cold > warm:
        raise CheckFailed(say(f"cold p50 {cold} ms is not above warm p50 {warm} ms",
                              f"cold p50 {cold} ms warm p50 {warm} ms-এর চেয়ে বেশি নয়"))
    return say(f"cold p50 {cold:.0f} ms, warm p50 {warm:.1f} ms", f"cold p50 {cold:.0f} ms, warm p50 {warm:.1f} ms")


def logged_reports(run, request_ids: set[str]) -> dict[str, tuple[float, float | None]]:
    """(Duration, Init Duration) in ms of each request id Lambda logged a REPORT line for, read by the grader."""
    logs, found, read = run.client("logs"), {}, 0
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=run.settings.log_group,
                                                              filterPattern='"REPORT RequestId"')
    try:
        for event in (e for page in pages for e in page["events"]):
            read += 1
            if (report := timing.REPORT.search(event["message"])) and report["id"] in request_ids:
                found[report["id"]] = (float(report["duration"]), float(report["init"]) if report["init"] else None)
            if len(found) == len(request_ids) or read >= MAX_LOG_EVENTS:
                break
    except logs.exceptions.ResourceNotFoundException:
        raise CheckFailed(say(f"the function's log group {run.settings.log_group} is gone; measure again",
                              f"function-এর log group {run.settings.log_group} আর নেই; আবার measure করো")) from None
    return found


@STEP.check("each latency is a round trip in milliseconds: at least what Lambda's REPORT logged for that request",
            points=2, todos=(LATENCY,), needs="the report exists: at least 10 requests, all answered 200",
            hint="latency.py measure(): time each whole request with time.perf_counter() and keep milliseconds; "
                 "Lambda logs its own Duration (and a cold start's Init Duration) in ms, and a client waits longer.")
def as_logged(run):
    samples = _samples(run)
    logged = logged_reports(run, {s.request_id for s in samples if s.request_id})
    missing = [s for s in samples if s.request_id not in logged]
    if missing:
        first = missing[0]
        raise CheckFailed(say(f"{len(missing)} of {len(samples)} requests have no REPORT line in {run.settings.log_group} "
                              f"(round {first.round} request {first.position}, request id {first.request_id!r}): "
                              "measure again, with the X-Request-Id each answer carries",
                              f"{len(samples)}টা request-এর {len(missing)}টার কোনো REPORT লাইন {run.settings.log_group}-এ নেই "
                              f"(round {first.round} request {first.position}, request id {first.request_id!r}): "
                              "প্রতিটা উত্তরের X-Request-Id নিয়ে আবার measure করো"))
    for s in samples:
        duration, init = logged[s.request_id]
        where = f"round {s.round} request {s.position}"
        said = [(name, mine, theirs) for name, mine, theirs in (("duration_ms", s.duration_ms, duration),
                                                                ("init_ms", s.init_ms, init)) if mine is not None
                and (theirs is None or not math.isclose(mine, theirs, abs_tol=0.01))]
        if said:
            name, mine, theirs = said[0]
            raise CheckFailed(say(f"{where}: samples.csv says {name} {mine}, Lambda's REPORT line says {theirs}",
                                  f"{where}: samples.csv বলছে {name} {mine}, Lambda-র REPORT লাইন বলছে {theirs}"))
        if s.latency_ms < duration or (init is not None and s.latency_ms < init):
            after = (f" after an Init Duration of {init} ms", f", তার আগে Init Duration {init} ms") if init is not None \
                else ("", "")
            raise CheckFailed(say(f"{where} took {s.latency_ms} by the client's clock, but Lambda ran it {duration} ms"
                                  f"{after[0]}: a latency is the whole round trip, in milliseconds",
                                  f"client-এর ঘড়িতে {where}-এ লেগেছে {s.latency_ms}, কিন্তু Lambda সেটা চালিয়েছে {duration} ms"
                                  f"{after[1]}: latency মানে পুরো আসা-যাওয়া, millisecond-এ"))
    return say(f"{len(samples)} requests, each found in the function's log",
               f"{len(samples)}টা request, প্রতিটাই function-এর log-এ পাওয়া গেছে")


@STEP.check("the plot exists", points=1, todos=(LATENCY,), hint="Save the figure as build/latency/latency.png.")
def plot_exists(run):
    path = run.settings.latency_dir / "latency.png"
    if not path.exists() or path.read_bytes()[:8] != PNG_MAGIC:
        raise CheckFailed(say(f"{path} is missing or not a PNG", f"{path} নেই, বা সেটা PNG নয়"))


def own_timing(run) -> dict:
    """The grader's own measurement of the endpoint (once per run): a forced cold start, then warm requests, up to the
    first answer that is not a 200 (the endpoint is then not live, whatever the rest would answer, and a function
    that never answers costs one timeout, not six)."""
    if "own_timing" not in run.facts:
        url = cloud.api(run)["ApiEndpoint"] + "/predict"
        try:
            timing.force_cold_start(run.settings)
        except LabError as error:
            raise CheckFailed(say(f"the grader could not force a cold start: {error}",
                                  f"grader একটা cold start ঘটাতে পারেনি: {error}")) from None
        latencies, statuses = [], []
        for _ in range(1 + OWN_WARM):
            started = time.perf_counter()
            statuses.append(requests.post(url, json=SETOSA, timeout=60).status_code)
            latencies.append((time.perf_counter() - started) * 1000)
            if statuses[-1] != 200:
                break
        run.facts["own_timing"] = {"cold_ms": latencies[0], "warm_ms": latencies[1:], "statuses": statuses}
    return run.facts["own_timing"]


@STEP.check(LIVE, points=1, todos=(LATENCY,), hint="Step 6's URL must still answer; did cleanup run already?")
def live(run):
    statuses = own_timing(run)["statuses"]
    if set(statuses) != {200}:
        raise CheckFailed(say(f"statuses {statuses}", f"status-গুলো {statuses}, সবগুলো 200 নয়"))


@STEP.check(f"the latencies agree with the grader's own timing of the endpoint (within a factor of {FACTOR})",
            points=2, todos=(LATENCY,), needs=LIVE,
            hint="latency.py measure(): a latency is the time one requests.post() took, in milliseconds: "
                 "(time.perf_counter() after - before) * 1000, timed around that call alone.")
def agrees_with_the_grader(run):
    own, expected = own_timing(run), expected_summary(_samples(run))
    mine = {"cold": expected["cold_latency_ms"]["p50"], "warm": expected["warm_latency_ms"]["p50"]}
    theirs = {"cold": [own["cold_ms"]], "warm": own["warm_ms"]}
    for kind in ("warm", "cold"):
        if mine[kind] is None or not within_factor(mine[kind], theirs[kind]):
            took = _span(theirs[kind])
            raise CheckFailed(say(f"the {kind} p50 of samples.csv is {mine[kind]} ms; the grader's own {kind} requests "
                                  f"to the same endpoint took {took} ms",
                                  f"samples.csv-এর {kind} p50 হলো {mine[kind]} ms; একই endpoint-এ grader-এর নিজের "
                                  f"{kind} request-গুলোতে লেগেছে {took} ms"))
    said = f"cold {mine['cold']:.0f} ms (grader {_span(theirs['cold'])}), warm {mine['warm']:.1f} ms (grader {_span(theirs['warm'])})"
    return say(said, said)


def within_factor(latency_ms: float, own_ms: list[float]) -> bool:
    """Whether a student's latency lies within FACTOR of the span of the grader's own.

    A busy machine only ever slows a request, so the span (not a median) is what both clocks can share: a
    student measuring in a quiet moment and a grader in a busy one still agree, a unit mistake (1000) never does.
    """
    return min(own_ms) / FACTOR <= latency_ms <= max(own_ms) * FACTOR


def _span(latencies_ms: list[float]) -> str:
    low, high = min(latencies_ms), max(latencies_ms)
    return f"{low:.1f}" if low == high else f"{low:.1f}–{high:.1f}"
