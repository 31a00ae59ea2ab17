"""Step 7: an honest cold-vs-warm measurement: consistent report, a plot, a live endpoint."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace

import numpy as np
import requests

from . import cloud
from .context import SETOSA
from .framework import CheckFailed, step

STEP = step(7)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_REPORT_BYTES = 5_000_000
LATENCY, SUMMARIZE = "latency.py:measure", "latency.py:summarize"


def _report(run):
    """The samples (as the grader reads the CSV) and the summary the student's code wrote."""
    folder = run.settings.latency_dir
    missing = [name for name in ("samples.csv", "summary.json") if not (folder / name).is_file()]
    if missing:
        raise CheckFailed(f"{', '.join(missing)} not found in {folder}")
    if any((folder / name).stat().st_size > MAX_REPORT_BYTES for name in ("samples.csv", "summary.json")):
        raise CheckFailed("the latency report is implausibly large")
    try:
        with (folder / "samples.csv").open() as handle:
            samples = [SimpleNamespace(round=int(r["round"]), position=int(r["position"]),
                                       latency_ms=float(r["latency_ms"]), status=int(r["status"]),
                                       cold_start={"True": True, "False": False}.get(r["cold_start"]))
                       for r in csv.DictReader(handle)]
        summary = json.loads((folder / "summary.json").read_text())
    except (ValueError, KeyError, TypeError) as error:
        raise CheckFailed(f"the latency report cannot be read: {error}") from None
    return samples, summary if isinstance(summary, dict) else {}


def percentiles(values: list[float]) -> dict:
    """The grader's own p50/p95/max (as the lab documents them: NumPy percentiles, 2 decimals)."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {"n": len(values), "p50": round(float(np.percentile(values, 50)), 2),
            "p95": round(float(np.percentile(values, 95)), 2), "max": round(max(values), 2)}


@STEP.check("the report exists: at least 10 requests, all answered 200", points=2, todos=(LATENCY,),
            hint="Run the measurement (notebook 07 or `python -m <code>.latency`); it writes build/latency/.")
def report_exists(run):
    samples, _ = _report(run)
    if len(samples) < 10:
        raise CheckFailed(f"only {len(samples)} requests")
    statuses = sorted({s.status for s in samples})
    if statuses != [200]:
        raise CheckFailed(f"statuses {statuses}")


@STEP.check("the first request of each round was cold, the others warm", points=2, todos=(LATENCY,),
            needs="the report exists: at least 10 requests, all answered 200",
            hint="Force the cold start before each round (change the configuration and wait), then send requests one at a time.")
def cold_then_warm(run):
    samples, _ = _report(run)
    wrong = [f"round {s.round} request {s.position}: cold_start={s.cold_start}"
             for s in samples if s.cold_start is not (s.position == 1)]
    if wrong:
        raise CheckFailed("; ".join(wrong[:4]))


@STEP.check("cold p50 is above warm p50, and the summary matches the samples", points=2, todos=(SUMMARIZE,),
            needs="the report exists: at least 10 requests, all answered 200",
            hint="Compute the summary from the samples you wrote (positions 1 = cold, the rest warm); never type numbers in.")
def summary_consistent(run):
    samples, summary = _report(run)
    expected = {"requests": len(samples),
                "cold_latency_ms": percentiles([s.latency_ms for s in samples if s.position == 1]),
                "warm_latency_ms": percentiles([s.latency_ms for s in samples if s.position > 1])}
    for key in ("requests", "cold_latency_ms", "warm_latency_ms"):
        if summary.get(key) != expected[key]:
            raise CheckFailed(f"summary.json {key} is {summary.get(key)}; the samples give {expected[key]}")
    cold, warm = expected["cold_latency_ms"]["p50"], expected["warm_latency_ms"]["p50"]
    if not cold > warm:
        raise CheckFailed(f"cold p50 {cold} ms is not above warm p50 {warm} ms")
    return f"cold p50 {cold:.0f} ms, warm p50 {warm:.1f} ms"


@STEP.check("the plot exists", points=1, todos=(LATENCY,), hint="Save the figure as build/latency/latency.png.")
def plot_exists(run):
    path = run.settings.latency_dir / "latency.png"
    if not path.exists() or path.read_bytes()[:8] != PNG_MAGIC:
        raise CheckFailed(f"{path} is missing or not a PNG")


@STEP.check("the endpoint is live: three fresh requests answer 200", points=1, todos=(LATENCY,),
            hint="Step 6's URL must still answer; did cleanup run already?")
def live(run):
    url = cloud.api(run)["ApiEndpoint"] + "/predict"
    statuses = [requests.post(url, json=SETOSA).status_code for _ in range(3)]
    if statuses != [200, 200, 200]:
        raise CheckFailed(f"statuses {statuses}")
