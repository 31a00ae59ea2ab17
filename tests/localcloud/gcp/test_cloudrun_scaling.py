"""How the stand-in schedules Cloud Run instances: concurrency, max-instances, timeouts, idle, minimum."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from cloudrun_support import IDLE_TIMEOUT_S, counters, service

from polling import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]


def burst(url: str, n: int, timeout: float = 60) -> list[requests.Response]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: requests.get(url, timeout=timeout), range(n)))


def test_one_instance_serves_up_to_its_concurrency_at_once(deploy, probe_image, cloud):
    # given a service whose instances take 10 requests each, at most 3 instances
    created = deploy(service(probe_image, concurrency=10, max_instances=3))
    # when 20 requests of 1.5 s arrive at once
    answers = burst(created.uri + "/?sleep=1.5", 20)
    # then two instances served them, each with up to 10 at once, and none more than 10
    assert [a.status_code for a in answers] == [200] * 20
    bodies = [a.json() for a in answers]
    assert len({b["instance"] for b in bodies}) == 2
    assert max(b["in_flight"] for b in bodies) == 10
    stats = counters(cloud, created.name)
    assert stats["peak_in_flight_per_instance"] == 10 and stats["requests"] == 20


def test_the_default_concurrency_puts_a_burst_on_one_instance(deploy, probe_image, cloud):
    created = deploy(service(probe_image))
    answers = burst(created.uri + "/?sleep=1", 40)
    assert len({a.json()["instance"] for a in answers}) == 1
    assert counters(cloud, created.name)["peak_in_flight_per_instance"] == 40


def test_at_max_instances_an_excess_request_waits_about_10_s_then_gets_429(deploy, probe_image, cloud):
    # given one instance, one request at a time, busy for 14 s
    created = deploy(service(probe_image, concurrency=1, max_instances=1))
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(requests.get, created.uri + "/?sleep=14", timeout=60)
        wait_for(lambda: counters(cloud, created.name)["instances"][0]["in_flight"] == 1, 10, "the instance got busy")
        # when another request arrives
        started = time.monotonic()
        refused = requests.get(created.uri + "/", timeout=60)
        waited = time.monotonic() - started
        # then it waited for a free instance and was refused as Cloud Run refuses it
        assert refused.status_code == 429 and "no available instance" in refused.text
        assert 9 <= waited < 13
        assert busy.result().status_code == 200
    assert counters(cloud, created.name)["refused_429"] == 1


def test_a_request_past_the_timeout_gets_504(deploy, probe_image, cloud):
    created = deploy(service(probe_image, timeout_s=2))
    started = time.monotonic()
    answer = requests.get(created.uri + "/?sleep=6", timeout=30)
    assert answer.status_code == 504 and answer.text == "upstream request timeout"
    assert time.monotonic() - started < 5
    assert counters(cloud, created.name)["timed_out_504"] == 1


def test_idle_instances_scale_to_zero_and_the_next_request_is_a_cold_start(deploy, probe_image, cloud):
    # given a service with no minimum, after its deploy instance went idle
    created = deploy(service(probe_image))
    wait_for(lambda: counters(cloud, created.name)["live_instances"] == 0, IDLE_TIMEOUT_S + 10, "scaled to zero")
    # when a request arrives
    assert requests.get(created.uri + "/", timeout=60).status_code == 200
    # then it waited for a new instance
    stats = counters(cloud, created.name)
    assert (stats["instances_started"], stats["cold_starts"], stats["live_instances"]) == (2, 1, 1)


def test_min_instances_stay_started(deploy, probe_image, cloud):
    created = deploy(service(probe_image, min_instances=2))
    assert counters(cloud, created.name)["live_instances"] == 2
    time.sleep(IDLE_TIMEOUT_S + 2)
    burst(created.uri + "/", 4)
    stats = counters(cloud, created.name)
    assert (stats["live_instances"], stats["cold_starts"]) == (2, 0)
