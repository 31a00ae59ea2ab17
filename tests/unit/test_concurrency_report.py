"""Step 9's burst arithmetic (labkit/experiments/concurrency.py): instance time as request-based billing counts it, and costs."""

from __future__ import annotations

import pytest

from labkit.experiments import concurrency
from labkit.experiments.concurrency import Hit


def test_overlapping_requests_on_one_instance_count_once():
    hits = [Hit(0.0, 1.0, 200, True, "a"), Hit(0.5, 1.5, 200, False, "a"), Hit(3.0, 3.25, 200, False, "a"),
            Hit(0.0, 2.0, 200, True, "b")]
    assert concurrency.busy_seconds(hits) == pytest.approx(1.5 + 0.25 + 2.0)


def test_the_summary_counts_what_started():
    hits = [Hit(0, 0.1, 200, True, "a"), Hit(0, 0.3, 200, False, "a"), Hit(0, 0.2, 429, False, None)]
    assert concurrency.summary(hits) == {"requests": 3, "ok": 2, "cold": 1, "instances": 1, "p50_ms": pytest.approx(200)}


def test_costs_follow_each_pricing_model():
    # a million Lambda requests of 100 ms billed at 1 GB: $0.20 + 100,000 GB-s
    lam = concurrency.lambda_cost([Hit(0, 0.1, 200, False, billed_ms=100)] * 1_000_000, memory_mb=1024)
    assert lam == pytest.approx(0.20 + 100_000 * concurrency.LAMBDA_PER_GB_S)
    # one instance-hour of 1 vCPU and 1 GiB, instance-based: no request fee
    run = concurrency.cloud_run_cost(3600, 1000, vcpu=1, gib=1, prices=concurrency.RUN_INSTANCE_BASED)
    assert run == pytest.approx(3600 * (0.000018 + 0.000002))
