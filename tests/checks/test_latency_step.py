"""Step 7's report checks against one-mistake measure()/summarize() of tests/checks/latency_mutants/.

No cloud: measure() runs with the cold start and the requests faked (first request of each round
cold, latencies and REPORT durations made up), then the report is written as the lab writes it
and step 7's report checks judge it. The endpoint check (``live``) needs a cloud and is not run.
"""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import pytest

import mutation
from checks import Context, step7_latency
from checks.framework import CheckFailed, Run
from labkit import config, timing
from labkit.loader import import_from_folder

LATENCY_MUTANTS = mutation.mutants_in(Path(__file__).resolve().parent / "latency_mutants")
REPORT_CHECKS = [c for c in step7_latency.STEP.checks if c.func is not step7_latency.live]


def graded(code: Path, build: Path, monkeypatch, **measure) -> dict[str, str]:
    """measure() and summarize() of ``code`` with a faked endpoint; the report checks' failures by name."""
    latency = import_from_folder(code, "latency")
    state = SimpleNamespace(fresh=True, rng=random.Random(7))

    def cold_start(settings):
        state.fresh = True

    def post(url, json=None, timeout=None):
        cold, state.fresh = state.fresh, False
        return SimpleNamespace(status_code=200, headers={"X-Request-Id": "r"}, json=lambda: {"cold_start": cold})

    def reports(settings, samples, since_ms, wait_s=60):
        for s in samples:
            s.duration_ms = round(state.rng.uniform(2, 9), 2)
            s.init_ms = round(state.rng.uniform(800, 1500), 2) if s.position == 1 else None
            s.latency_ms = round(s.latency_ms + (1200 if s.position == 1 else 5) + state.rng.uniform(0, 3), 2)

    monkeypatch.setattr(timing, "force_cold_start", cold_start)
    monkeypatch.setattr(timing, "attach_reports", reports)
    monkeypatch.setattr("requests.post", post)
    settings = config.load({}, code=str(code), build_dir=build)
    samples = latency.measure(settings, "http://example.invalid/predict", **measure)
    timing.write_samples(samples, settings.latency_dir)
    timing.write_summary(latency.summarize(samples), settings.latency_dir)
    (settings.latency_dir / "latency.png").write_bytes(step7_latency.PNG_MAGIC)
    run, failed = Run(Context(settings)), {}
    for check in REPORT_CHECKS:
        if check.needs in failed:
            failed[check.name] = "not run"
            continue
        try:
            check.func(run)
        except CheckFailed as failure:
            failed[check.name] = str(failure)
    return failed


def test_the_reference_report_passes_every_report_check(tmp_path, monkeypatch):
    assert graded(mutation.SOLUTION, tmp_path / "build", monkeypatch) == {}


def test_longer_rounds_than_the_notebooks_pass_too(tmp_path, monkeypatch):
    assert graded(mutation.SOLUTION, tmp_path / "build", monkeypatch, requests_per_round=20) == {}


@pytest.mark.parametrize("wrong", LATENCY_MUTANTS, ids=[m.name for m in LATENCY_MUTANTS])
def test_a_latency_mistake_loses_the_points_it_should(wrong, tmp_path, monkeypatch):
    code = mutation.submission(wrong, tmp_path)
    failed = graded(code, tmp_path / "build", monkeypatch)
    failed = {name: why for name, why in failed.items() if why != "not run"}
    assert set(failed) == wrong.loses, failed
