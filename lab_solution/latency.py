"""Step 7: measure cold vs warm latency through the public URL.

    python -m lab_solution.latency [--requests 10] [--rounds 3]

Each round forces a cold start the way one does on AWS (a configuration change makes
Lambda retire every warm environment), then sends N requests one after another and
times each. For each request we keep what the client saw (latency, status), what the
handler said (``cold_start``) and what Lambda logged (``REPORT``: duration and, for a
cold start, init duration). Results go to ``build/latency/``: a CSV, a JSON summary and a plot.
"""

from __future__ import annotations

import argparse
import time

import requests
from tqdm import tqdm

from labkit import apis, aws, config, plots, timing
from labkit.config import Settings
from labkit.errors import LabError, run_cli
from labkit.timing import Sample, percentiles


def measure(settings: Settings, url: str, requests_per_round: int = 10, rounds: int = 3) -> list[Sample]:
    """Force a cold start, then time ``requests_per_round`` sequential POSTs of ``config.SETOSA`` to ``url``; ``rounds`` times.

    Returns:
        One :class:`~labkit.timing.Sample` per request, in the order sent: ``timing.sample(response,
        round_, position, latency_ms)`` with rounds and positions counted from 1 (position 1 is the cold one).
    """
    since_ms = int(time.time() * 1000) - 1000
    samples = []
    with tqdm(total=rounds * requests_per_round, desc="measuring", unit="request") as bar:
        # BEGIN SOLUTION: per round, timing.force_cold_start(settings); then per position time one requests.post(url, json=config.SETOSA, timeout=60) with time.perf_counter(), append timing.sample(...), bar.update(1).
        for round_ in range(1, rounds + 1):
            timing.force_cold_start(settings)
            for position in range(1, requests_per_round + 1):
                started = time.perf_counter()
                response = requests.post(url, json=config.SETOSA, timeout=60)
                latency_ms = (time.perf_counter() - started) * 1000
                samples.append(timing.sample(response, round_, position, latency_ms))
                bar.update(1)
        # END SOLUTION
    timing.attach_reports(settings, samples, since_ms)
    return samples


def summarize(samples: list[Sample]) -> dict:
    """Cold (the first request of each round) against warm (the others).

    Returns:
        A dict with exactly these keys: ``requests`` (how many samples), ``rounds`` (how many distinct
        rounds), ``statuses`` (the sorted distinct HTTP statuses), ``cold_latency_ms`` and
        ``warm_latency_ms`` (``percentiles()`` of the client latencies), ``init_duration_ms`` (``percentiles()``
        of the cold samples' ``init_ms`` that are not None), ``warm_duration_ms`` (the same of the warm
        samples' ``duration_ms``), ``handler_saw_cold`` (every sample's ``cold_start``, in order) and
        ``cold_to_warm_p50`` (cold p50 / warm p50 rounded to 1 place, None when either is missing).
    """
    # BEGIN SOLUTION: split samples by position == 1 (cold) or not (warm), then fill every key the docstring names.
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
    return summary
    # END SOLUTION


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
        api = apis.find_api(settings, apigw)
    if api is None:
        raise LabError("the lab's HTTP API does not exist yet: run step 6 first")
    samples = measure(settings, f"{api['ApiEndpoint']}/predict", args.requests, args.rounds)
    summary = summarize(samples)
    csv_path, json_path = timing.write_reports(samples, summary, settings.latency_dir)
    png = plots.plot(samples, settings.latency_dir / "latency.png")
    print(timing.format_summary(summary))
    print(f"wrote {csv_path}, {json_path} and {png}")
    return 0


if __name__ == "__main__":
    run_cli(main)
