"""Step 7: measure cold vs warm latency through the public URL.

    python -m lab_solution.latency [--requests 10] [--rounds 3]

Each round forces a cold start the way one does on AWS (a configuration change makes
Lambda retire every warm environment), then sends N requests one after another. For
each request we record what the client saw (latency, status), what the handler said
(``cold_start``) and what Lambda logged (``REPORT``: duration and, for a cold start,
init duration). Results go to ``build/latency/``: a CSV, a JSON summary and a plot.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import requests
from tqdm import tqdm

from . import aws, config, gateway
from .config import Settings
from .errors import LabError, run_cli

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
    with aws.explained(settings, "forcing a cold start"):
        # BEGIN SOLUTION: update_function_configuration with a new LAB_DEPLOYED_AT variable (keep the others), then wait function_updated_v2.
        current = awslambda.get_function_configuration(FunctionName=settings.function_name)
        variables = {**current.get("Environment", {}).get("Variables", {}), "LAB_DEPLOYED_AT": str(time.time_ns())}
        awslambda.update_function_configuration(FunctionName=settings.function_name, Environment={"Variables": variables})
        awslambda.get_waiter("function_updated_v2").wait(FunctionName=settings.function_name)
        # END SOLUTION


def send(url: str, round_: int, position: int) -> Sample:
    """One timed request to the public URL."""
    started = time.perf_counter()
    response = requests.post(url, json=config.SETOSA, timeout=60)
    latency_ms = (time.perf_counter() - started) * 1000
    try:
        cold = response.json().get("cold_start")
    except ValueError:
        cold = None
    return Sample(round_, position, round(latency_ms, 2), response.status_code, cold,
                  response.headers.get("X-Request-Id", ""))


def attach_reports(settings: Settings, samples: list[Sample], since_ms: int, wait_s: float = 60) -> None:
    """Fill duration and init from the function's REPORT log lines (CloudWatch may lag a few seconds)."""
    logs = aws.client(settings, "logs")
    wanted = {s.request_id: s for s in samples if s.request_id}
    deadline = time.monotonic() + wait_s
    with aws.explained(settings, f"reading {settings.log_group}"):
        while any(s.duration_ms is None for s in wanted.values()) and time.monotonic() < deadline:
            pages = logs.get_paginator("filter_log_events").paginate(
                logGroupName=settings.log_group, startTime=since_ms, filterPattern='"REPORT RequestId"')
            for event in (e for page in pages for e in page["events"]):
                if (found := REPORT.search(event["message"])) and found["id"] in wanted:
                    sample = wanted[found["id"]]
                    sample.duration_ms = float(found["duration"])
                    sample.init_ms = float(found["init"]) if found["init"] else None
            if any(s.duration_ms is None for s in wanted.values()):
                time.sleep(2)


def measure(settings: Settings, url: str, requests_per_round: int = 10, rounds: int = 3) -> list[Sample]:
    """Force a cold start, then send ``requests_per_round`` sequential requests; ``rounds`` times."""
    since_ms = int(time.time() * 1000) - 1000
    samples = []
    with tqdm(total=rounds * requests_per_round, desc="measuring", unit="request") as bar:
        for round_ in range(1, rounds + 1):
            bar.set_postfix_str("forcing a cold start")
            force_cold_start(settings)
            bar.set_postfix_str("")
            for position in range(1, requests_per_round + 1):
                samples.append(send(url, round_, position))
                bar.update(1)
    attach_reports(settings, samples, since_ms)
    return samples


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {"n": len(values), "p50": round(float(np.percentile(values, 50)), 2),
            "p95": round(float(np.percentile(values, 95)), 2), "max": round(max(values), 2)}


def summarize(samples: list[Sample]) -> dict:
    """Cold (first request of a round) vs warm (the rest): client latency and Lambda's own figures."""
    # BEGIN SOLUTION: split samples by position == 1; percentiles of latency_ms for each, init_ms of the cold ones, and the ratio of p50s.
    cold = [s for s in samples if s.position == 1]
    warm = [s for s in samples if s.position > 1]
    summary = {
        "requests": len(samples),
        "rounds": len({s.round for s in samples}),
        "statuses": sorted({s.status for s in samples}),
        "cold_latency_ms": percentiles([s.latency_ms for s in cold]),
        "warm_latency_ms": percentiles([s.latency_ms for s in warm]),
        "init_duration_ms": percentiles([s.init_ms for s in cold if s.init_ms is not None]),
        "warm_duration_ms": percentiles([s.duration_ms for s in warm if s.duration_ms is not None]),
        "handler_saw_cold": [s.cold_start for s in samples],
    }
    cold_p50, warm_p50 = summary["cold_latency_ms"]["p50"], summary["warm_latency_ms"]["p50"]
    summary["cold_to_warm_p50"] = round(cold_p50 / warm_p50, 1) if cold_p50 and warm_p50 else None
    # END SOLUTION
    return summary


def format_summary(summary: dict) -> str:
    """The summary as a small table: p50, p95 and max for cold, warm and Lambda's init duration."""
    def cell(value) -> str:
        return f"{value:>9,.1f} ms" if value is not None else f"{'-':>12}"

    rows = [("cold (request 1)", summary["cold_latency_ms"]), ("warm (the others)", summary["warm_latency_ms"]),
            ("init duration (REPORT)", summary["init_duration_ms"])]
    lines = [f"{'':<24}{'p50':>12}{'p95':>12}{'max':>12}"]
    lines += [f"{label:<24}" + "".join(cell(stats[k]) for k in ("p50", "p95", "max")) for label, stats in rows]
    if summary["cold_to_warm_p50"]:
        lines.append(f"a cold request took {summary['cold_to_warm_p50']}x as long as a warm one (p50)")
    return "\n".join(lines)


def write_reports(samples: list[Sample], summary: dict, out_dir: Path) -> tuple[Path, Path]:
    """``samples.csv`` (one row per request) and ``summary.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out_dir / "samples.csv", out_dir / "summary.json"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in fields(Sample)])
        writer.writeheader()
        writer.writerows(asdict(s) for s in samples)
    json_path.write_text(json.dumps(summary, indent=2) + "\n")
    return csv_path, json_path


def read_samples(csv_path: Path) -> list[Sample]:
    """Samples back from a CSV written by :func:`write_reports`."""
    def optional(value: str) -> float | None:
        return float(value) if value else None  # csv writes None as an empty field

    def parse(row: dict) -> Sample:
        return Sample(int(row["round"]), int(row["position"]), float(row["latency_ms"]), int(row["status"]),
                      {"True": True, "False": False}.get(row["cold_start"]), row["request_id"],
                      optional(row["duration_ms"]), optional(row["init_ms"]))

    with csv_path.open() as handle:
        return [parse(row) for row in csv.DictReader(handle)]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m lab_solution.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10, help="requests per round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each starting cold (default 3)")
    args = parser.parse_args()
    if args.requests < 2 or args.rounds < 1:
        raise LabError("use at least 2 requests per round (one cold, one warm) and 1 round")
    settings = config.load()
    apigw = aws.client(settings, "apigatewayv2")
    with aws.explained(settings, "looking up the HTTP API"):
        api = gateway.find_api(settings, apigw)
    if api is None:
        raise LabError("the lab's HTTP API does not exist yet: run step 6 first")
    samples = measure(settings, f"{api['ApiEndpoint']}/predict", args.requests, args.rounds)
    summary = summarize(samples)
    csv_path, json_path = write_reports(samples, summary, settings.latency_dir)
    from .latency_plot import plot

    png = plot(samples, settings.latency_dir / "latency.png")
    print(format_summary(summary))
    print(f"wrote {csv_path}, {json_path} and {png}")
    return 0


if __name__ == "__main__":
    run_cli(main)
