"""Step 9's experiment: the same burst of concurrent requests against Lambda and against Cloud Run.

Lambda gives every request in flight an execution environment of its own; one Cloud Run
instance takes up to its concurrency (80 by default) at once. Both sides are counted from
what the client sees, so the numbers mean the same on the local target and in the cloud:
Lambda's new environments are the REPORT lines with an Init Duration, Cloud Run's instances
the distinct ``X-Instance-Id`` headers, its cold starts the ``X-Cold-Start: true`` answers.
What each platform bills for the burst is measured too: Lambda's Billed Duration per request,
Cloud Run's time with at least one request in flight per instance (request-based billing).
"""

from __future__ import annotations

import base64
import json
import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from .. import aws, config
from ..bilingual import say
from ..config import Settings

# List prices at the time of writing (Lambda x86_64 in us-east-1; Cloud Run tier-1 regions), free tiers left out.
LAMBDA_PER_REQUEST, LAMBDA_PER_GB_S = 0.20 / 1e6, 0.0000166667
RUN_REQUEST_BASED = {"request": 0.40 / 1e6, "vcpu_s": 0.000024, "gib_s": 0.0000025}
RUN_INSTANCE_BASED = {"request": 0.0, "vcpu_s": 0.000018, "gib_s": 0.000002}
SECONDS_PER_MONTH = 30 * 24 * 3600


@dataclass(frozen=True)
class Hit:
    started: float  # seconds, time.perf_counter()
    ended: float
    status: int
    cold: bool  # a new environment (Lambda) / the first request of an instance (Cloud Run)
    instance: str | None = None  # Cloud Run's X-Instance-Id
    billed_ms: float | None = None  # Lambda's Billed Duration

    @property
    def latency_ms(self) -> float:
        return (self.ended - self.started) * 1000


def _burst(call, n: int) -> list[Hit]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: call(), range(n)))


def lambda_burst(settings: Settings, n: int) -> list[Hit]:
    """``n`` invokes of the function at once, each with its REPORT line (``LogType=Tail``)."""
    awslambda = aws.client(settings, "lambda")

    def one() -> Hit:
        started = time.perf_counter()
        answer = awslambda.invoke(FunctionName=settings.function_name, LogType="Tail",
                                  Payload=json.dumps(config.SETOSA).encode())
        answer["Payload"].read()
        ended = time.perf_counter()
        report = base64.b64decode(answer.get("LogResult", "")).decode(errors="replace")
        billed = re.search(r"Billed Duration: ([\d.]+) ms", report)
        return Hit(started, ended, answer["StatusCode"], "Init Duration" in report,
                   billed_ms=float(billed[1]) if billed else None)

    with aws.explained(settings, say(f"invoking {settings.function_name} {n} times at once",
                                     f"{settings.function_name} একসাথে {n} বার invoke করা")):
        return _burst(one, n)


def cloud_run_burst(url: str, n: int) -> list[Hit]:
    """``n`` POSTs of a flower to ``URL/predict`` at once."""
    session = requests.Session()
    session.mount("http", requests.adapters.HTTPAdapter(pool_maxsize=n))

    def one() -> Hit:
        started = time.perf_counter()
        response = session.post(f"{url}/predict", json=config.SETOSA, timeout=120)
        return Hit(started, time.perf_counter(), response.status_code, response.headers.get("X-Cold-Start") == "true",
                   instance=response.headers.get("X-Instance-Id"))

    return _burst(one, n)


def busy_seconds(hits: list[Hit]) -> float:
    """Per instance, the time with at least one request in flight (what request-based billing charges,
    before its rounding up to 100 ms), summed over the instances."""
    total = 0.0
    for instance in {h.instance for h in hits}:
        spans = sorted((h.started, h.ended) for h in hits if h.instance == instance)
        start, end = spans[0]
        for left, right in spans[1:]:
            if left > end:
                total, start = total + end - start, left
            end = max(end, right)
        total += end - start
    return total


def summary(hits: list[Hit]) -> dict:
    """Requests, answers, what started, the median latency."""
    return {"requests": len(hits), "ok": sum(h.status == 200 for h in hits), "cold": sum(h.cold for h in hits),
            "instances": len({h.instance for h in hits if h.instance}) or None,
            "p50_ms": statistics.median(h.latency_ms for h in hits)}


def lambda_cost(hits: list[Hit], memory_mb: int) -> float:
    """What Lambda bills for these requests: a fee per request plus GB-seconds of Billed Duration each."""
    billed_s = sum(h.billed_ms or 0 for h in hits) / 1000
    return len(hits) * LAMBDA_PER_REQUEST + billed_s * memory_mb / 1024 * LAMBDA_PER_GB_S


def cloud_run_cost(instance_s: float, requests_: int, vcpu: float, gib: float, prices: dict) -> float:
    """What Cloud Run bills: vCPU-seconds and GiB-seconds of instance time (plus a fee per request, request-based)."""
    return requests_ * prices["request"] + instance_s * (vcpu * prices["vcpu_s"] + gib * prices["gib_s"])
