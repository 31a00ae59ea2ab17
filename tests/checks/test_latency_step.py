"""Step 7's checks against one-mistake measure()/summarize() of tests/checks/latency_mutants/.

No cloud: the endpoint and the function's log are faked (:class:`FakeFunction`): a forced cold
start makes the next request sleep its made-up Init Duration, every request sleeps its Duration
and is logged as a REPORT line under its request id. measure() times those requests, the report is
written as the lab writes it, and every check of step 7 judges it, the grader's own timing of the
same fake endpoint included.
"""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import mutation
import pytest

from checks import Context, cloud, step7_latency
from checks.framework import CheckFailed, Run
from labkit import config, timing
from labkit.loader import import_from_folder

LATENCY_MUTANTS = mutation.mutants_in(Path(__file__).resolve().parent / "latency_mutants")


class FakeFunction:
    """A Lambda function behind an HTTP API, in milliseconds: cold starts of 40-50 ms, handler runs of 1-2 ms."""

    def __init__(self, status: int = 200):
        self.fresh, self.rng, self.log, self.status, self.posts = True, random.Random(7), {}, status, 0

    def force_cold_start(self, settings):
        self.fresh = True

    def post(self, url, json=None, timeout=None):
        self.posts += 1
        cold, self.fresh = self.fresh, False
        init = round(self.rng.uniform(40, 50), 2) if cold else None
        duration = round(self.rng.uniform(1, 2), 2)
        time.sleep(((init or 0) + duration) / 1000)
        request_id = str(uuid.uuid4())
        self.log[request_id] = (duration, init)
        return SimpleNamespace(status_code=self.status, headers={"X-Request-Id": request_id},
                               json=lambda: {"cold_start": cold})

    def attach_reports(self, settings, samples, since_ms, wait_s=60):
        for s in samples:
            s.duration_ms, s.init_ms = self.log[s.request_id]

    def reports(self, run, request_ids):
        return {i: self.log[i] for i in request_ids if i in self.log}


def graded(code: Path, build: Path, monkeypatch, **measure) -> dict[str, str]:
    """measure() and summarize() of ``code`` against a faked endpoint; step 7's failures by name."""
    latency = import_from_folder(code, "latency")
    function = FakeFunction()
    monkeypatch.setattr(timing, "force_cold_start", function.force_cold_start)
    monkeypatch.setattr(timing, "attach_reports", function.attach_reports)
    monkeypatch.setattr("requests.post", function.post)
    monkeypatch.setattr(step7_latency, "logged_reports", function.reports)
    monkeypatch.setattr(cloud, "api", lambda run: {"ApiEndpoint": "http://example.invalid"})
    settings = config.load({}, code=str(code), build_dir=build)
    samples = latency.measure(settings, "http://example.invalid/predict", **measure)
    timing.write_samples(samples, settings.latency_dir)
    timing.write_summary(latency.summarize(samples), settings.latency_dir)
    (settings.latency_dir / "latency.png").write_bytes(step7_latency.PNG_MAGIC)
    run, failed = Run(Context(settings)), {}
    for check in step7_latency.STEP.checks:
        if check.needs in failed:
            failed[check.name] = "not run"
            continue
        try:
            check.func(run)
        except CheckFailed as failure:
            failed[check.name] = str(failure)
    return failed


def test_the_reference_report_passes_every_check(tmp_path, monkeypatch):
    assert graded(mutation.SOLUTION, tmp_path / "build", monkeypatch) == {}


def test_longer_rounds_than_the_notebooks_pass_too(tmp_path, monkeypatch):
    assert graded(mutation.SOLUTION, tmp_path / "build", monkeypatch, requests_per_round=20) == {}


@pytest.mark.parametrize("wrong", LATENCY_MUTANTS, ids=[m.name for m in LATENCY_MUTANTS])
def test_a_latency_mistake_loses_the_points_it_should(wrong, tmp_path, monkeypatch):
    code = mutation.submission(wrong, tmp_path)
    failed = graded(code, tmp_path / "build", monkeypatch)
    failed = {name: why for name, why in failed.items() if why != "not run"}
    assert set(failed) == wrong.loses, failed


def test_an_endpoint_that_is_not_live_costs_the_grader_one_request(tmp_path, monkeypatch):
    # given: the student's measurement, then an endpoint whose function times out (the API answers 503)
    function = FakeFunction(status=503)
    monkeypatch.setattr(timing, "force_cold_start", function.force_cold_start)
    monkeypatch.setattr("requests.post", function.post)
    monkeypatch.setattr(cloud, "api", lambda run: {"ApiEndpoint": "http://example.invalid"})
    run = Run(Context(config.load({}, code=str(mutation.SOLUTION), build_dir=tmp_path / "build")))
    # when: the grader times the endpoint itself
    with pytest.raises(CheckFailed, match=r"statuses \[503\]"):
        step7_latency.live(run)
    # then: its first answer settled it: one request, not 1 + OWN_WARM, each of which would wait for the timeout
    assert function.posts == 1


@pytest.mark.parametrize(("student_ms", "agrees"), [(6.96, True), (81.7, True), (700.0, True), (0.007, False),
                                                     (6960.0, False)])
def test_a_busy_grader_still_agrees_with_a_quiet_student(student_ms, agrees):
    # given: the grader's own warm requests, all of them slowed by a busy machine (CI's 2 cores)
    own = [61.0, 66.3, 81.7, 84.0, 90.2]
    # then: a student's p50 measured in a quiet moment agrees; a unit mistake (s or µs for ms) never does
    assert step7_latency.within_factor(student_ms, own) is agrees
