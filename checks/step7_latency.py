"""Step 7: an honest cold-vs-warm measurement: consistent report, a plot, a live endpoint."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace

import numpy as np
import requests

from . import cloud
from .context import SETOSA
from .framework import CheckFailed, joined, say, step

STEP = step(7)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_REPORT_BYTES = 5_000_000
LATENCY, SUMMARIZE = "latency.py:measure", "latency.py:summarize"
REQUESTS_PER_ROUND = 10  # at least: notebook 07's measure(..., requests_per_round=10), also measure()'s default


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


@STEP.check("the plot exists", points=1, todos=(LATENCY,), hint="Save the figure as build/latency/latency.png.")
def plot_exists(run):
    path = run.settings.latency_dir / "latency.png"
    if not path.exists() or path.read_bytes()[:8] != PNG_MAGIC:
        raise CheckFailed(say(f"{path} is missing or not a PNG", f"{path} নেই, বা সেটা PNG নয়"))


@STEP.check("the endpoint is live: three fresh requests answer 200", points=1, todos=(LATENCY,),
            hint="Step 6's URL must still answer; did cleanup run already?")
def live(run):
    url = cloud.api(run)["ApiEndpoint"] + "/predict"
    statuses = [requests.post(url, json=SETOSA).status_code for _ in range(3)]
    if statuses != [200, 200, 200]:
        raise CheckFailed(say(f"statuses {statuses}", f"status-গুলো {statuses}, তিনটাই 200 নয়"))
