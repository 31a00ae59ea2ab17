"""Timing plumbing for step 7: a sample per request, forcing a cold start, Lambda's REPORT lines, the report files.

The student writes the measurement loop and the summary (``latency.py``); recording what
each request saw, and what Lambda logged about it, is given here.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import requests

from lambda_rie import WaitTimeout, wait_for

from . import aws
from .bilingual import say, text
from .config import Settings, language

REPORT = re.compile(r"REPORT RequestId: (?P<id>\S+)\s+Duration: (?P<duration>[\d.]+) ms"
                    r"(?:.*?Init Duration: (?P<init>[\d.]+) ms)?")


@dataclass
class Sample:
    round: int
    position: int  # 1 = the first request after the forced cold start
    latency_ms: float  # what the client waited, network included
    status: int
    cold_start: bool | None  # as the handler reported it
    request_id: str
    duration_ms: float | None = None  # from Lambda's REPORT line
    init_ms: float | None = None  # REPORT's Init Duration: only on cold starts


def force_cold_start(settings: Settings) -> None:
    """Change an environment variable: Lambda then retires every warm environment."""
    awslambda = aws.client(settings, "lambda")
    with aws.explained(settings, say("forcing a cold start", "cold start ঘটানো")):
        current = awslambda.get_function_configuration(FunctionName=settings.function_name)
        variables = {**current.get("Environment", {}).get("Variables", {}), "LAB_DEPLOYED_AT": str(time.time_ns())}
        awslambda.update_function_configuration(FunctionName=settings.function_name, Environment={"Variables": variables})
        awslambda.get_waiter("function_updated_v2").wait(FunctionName=settings.function_name)


def sample(response: requests.Response, round_: int, position: int, latency_ms: float) -> Sample:
    """What one timed request saw: its latency, status, the handler's ``cold_start`` and the request id."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    cold = answer.get("cold_start") if isinstance(answer, dict) else None
    return Sample(round_, position, round(latency_ms, 2), response.status_code, cold,
                  response.headers.get("X-Request-Id", ""))


def attach_reports(settings: Settings, samples: list[Sample], since_ms: int, wait_s: float = 60) -> None:
    """Fill duration and init from the function's REPORT log lines (CloudWatch may lag a few seconds)."""
    logs = aws.client(settings, "logs")
    wanted = {s.request_id: s for s in samples if s.request_id}

    def all_reported() -> bool:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=settings.log_group, startTime=since_ms, filterPattern='"REPORT RequestId"')
        for event in (e for page in pages for e in page["events"]):
            if (found := REPORT.search(event["message"])) and found["id"] in wanted:
                sample = wanted[found["id"]]
                sample.duration_ms = float(found["duration"])
                sample.init_ms = float(found["init"]) if found["init"] else None
        return all(s.duration_ms is not None for s in wanted.values())

    if all(s.duration_ms is not None for s in wanted.values()):
        return
    with aws.explained(settings, say(f"reading {settings.log_group}", f"{settings.log_group} পড়া")), contextlib.suppress(WaitTimeout):
        wait_for(all_reported, wait_s, interval=2, what="every REPORT line")  # what is missing then stays None


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {"n": len(values), "p50": round(float(np.percentile(values, 50)), 2),
            "p95": round(float(np.percentile(values, 95)), 2), "max": round(max(values), 2)}


def format_summary(summary: dict, lang: str | None = None) -> str:
    """The summary as a small table: p50, p95 and max for cold, warm and Lambda's init duration.

    Args:
        lang: ``bn`` or ``en``; default: ``LAB_LANG``.
    """
    lang = lang or language()

    def cell(value) -> str:
        return f"{value:>9,.1f} ms" if value is not None else f"{'-':>12}"

    rows = [("cold (request 1)", summary["cold_latency_ms"]),
            (say("warm (the others)", "warm (বাকিগুলো)"), summary["warm_latency_ms"]),
            ("init duration (REPORT)", summary["init_duration_ms"])]
    lines = [f"{'':<24}{'p50':>12}{'p95':>12}{'max':>12}"]
    lines += [f"{text(label, lang):<24}" + "".join(cell(stats[k]) for k in ("p50", "p95", "max")) for label, stats in rows]
    if ratio := summary["cold_to_warm_p50"]:
        lines.append(text(say(f"a cold request took {ratio}x as long as a warm one (p50)",
                              f"একটা cold request একটা warm request-এর {ratio} গুণ সময় নিয়েছে (p50)"), lang))
    return "\n".join(lines)


def write_samples(samples: list[Sample], out_dir: Path) -> Path:
    """``samples.csv``: one row per request, written as soon as they are measured."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "samples.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in fields(Sample)])
        writer.writeheader()
        writer.writerows(asdict(s) for s in samples)
    return csv_path


def write_summary(summary: dict, out_dir: Path) -> Path:
    """``summary.json``, next to the samples it summarises."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "summary.json"
    json_path.write_text(json.dumps(summary, indent=2) + "\n")
    return json_path


def read_summary(out_dir: Path) -> dict:
    """The summary back from ``summary.json`` in ``out_dir``, as :func:`write_summary` wrote it."""
    return json.loads((out_dir / "summary.json").read_text())


def read_samples(csv_path: Path) -> list[Sample]:
    """Samples back from a CSV written by :func:`write_samples`."""
    def optional(value: str) -> float | None:
        return float(value) if value else None  # csv writes None as an empty field

    def parse(row: dict) -> Sample:
        return Sample(int(row["round"]), int(row["position"]), float(row["latency_ms"]), int(row["status"]),
                      {"True": True, "False": False}.get(row["cold_start"]), row["request_id"],
                      optional(row["duration_ms"]), optional(row["init_ms"]))

    with csv_path.open() as handle:
        return [parse(row) for row in csv.DictReader(handle)]
