"""Step 7: an honest cold-vs-warm measurement: consistent report, a plot, a live endpoint."""

from __future__ import annotations

import json

import requests

from labkit.config import SETOSA

from . import cloud
from .framework import CheckFailed, step

STEP = step(7, "Measure cold vs warm latency")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _report(ctx):
    from labkit.timing import read_samples

    folder = ctx.settings.latency_dir
    missing = [name for name in ("samples.csv", "summary.json") if not (folder / name).exists()]
    if missing:
        raise CheckFailed(f"{', '.join(missing)} not found in {folder}")
    return read_samples(folder / "samples.csv"), json.loads((folder / "summary.json").read_text())


@STEP.check("the report exists: at least 10 requests, all answered 200", points=2,
            hint="Run the measurement (notebook 07 or `python -m <code>.latency`); it writes build/latency/.")
def report_exists(ctx):
    samples, _ = _report(ctx)
    if len(samples) < 10:
        raise CheckFailed(f"only {len(samples)} requests")
    statuses = sorted({s.status for s in samples})
    if statuses != [200]:
        raise CheckFailed(f"statuses {statuses}")


@STEP.check("the first request of each round was cold, the others warm", points=2,
            needs="the report exists: at least 10 requests, all answered 200",
            hint="Force the cold start before each round (change the configuration and wait), then send requests one at a time.")
def cold_then_warm(ctx):
    samples, _ = _report(ctx)
    wrong = [f"round {s.round} request {s.position}: cold_start={s.cold_start}"
             for s in samples if s.cold_start is not (s.position == 1)]
    if wrong:
        raise CheckFailed("; ".join(wrong[:4]))


@STEP.check("cold p50 is above warm p50, and the summary matches the samples", points=2,
            needs="the report exists: at least 10 requests, all answered 200",
            hint="Compute the summary from the samples you wrote (positions 1 = cold, the rest warm); never type numbers in.")
def summary_consistent(ctx):
    from lab_solution.latency import summarize

    samples, summary = _report(ctx)
    expected = summarize(samples)
    for key in ("requests", "cold_latency_ms", "warm_latency_ms"):
        if summary.get(key) != expected[key]:
            raise CheckFailed(f"summary.json {key} is {summary.get(key)}; the samples give {expected[key]}")
    cold, warm = expected["cold_latency_ms"]["p50"], expected["warm_latency_ms"]["p50"]
    if not cold > warm:
        raise CheckFailed(f"cold p50 {cold} ms is not above warm p50 {warm} ms")
    return f"cold p50 {cold:.0f} ms, warm p50 {warm:.1f} ms"


@STEP.check("the plot exists", points=1, hint="Save the figure as build/latency/latency.png.")
def plot_exists(ctx):
    path = ctx.settings.latency_dir / "latency.png"
    if not path.exists() or path.read_bytes()[:8] != PNG_MAGIC:
        raise CheckFailed(f"{path} is missing or not a PNG")


@STEP.check("the endpoint is live: three fresh requests answer 200", points=1, timeout=180,
            hint="Step 6's URL must still answer; did cleanup run already?")
def live(ctx):
    url = cloud.api(ctx)["ApiEndpoint"] + "/predict"
    statuses = [requests.post(url, json=SETOSA, timeout=60).status_code for _ in range(3)]
    if statuses != [200, 200, 200]:
        raise CheckFailed(f"statuses {statuses}")
