"""The Cloud Run scheduler's rules (localcloud/gcp/scaler.py) with stand-in containers and an injected clock."""

from __future__ import annotations

import pytest

from localcloud.gcp import resources
from localcloud.gcp.container import StartFailed
from localcloud.gcp.scaler import NoInstance, Pool


class FakeContainer:
    def __init__(self, fails: bool = False):
        self.fails, self.stopped = fails, False

    def start(self, timeout: float) -> None:
        if self.fails:
            raise StartFailed("never listened")

    def stop(self) -> None:
        self.stopped = True


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pool(clock: Clock, fails: bool = False, **template) -> Pool:
    spec = resources.spec_of("svc", "svc-00001-abc", resources.normalized_template(
        {"containers": [{"image": "gcr.io/p/i"}], **template}))
    return Pool(spec, lambda: FakeContainer(fails), idle_timeout_s=60, clock=clock, queue_wait_s=0)


def test_requests_fill_an_instance_before_another_starts():
    clock = Clock()
    runs = pool(clock, maxInstanceRequestConcurrency=2)
    runs.deploy()
    taken = [runs.acquire()[0] for _ in range(3)]
    assert [i.id for i in taken[:2]] == [taken[0].id] * 2 and taken[2].id != taken[0].id
    assert runs.status()["instances_started"] == 2


def test_at_max_instances_a_full_pool_refuses():
    runs = pool(Clock(), maxInstanceRequestConcurrency=1, scaling={"maxInstanceCount": 1})
    runs.deploy()
    runs.acquire()
    with pytest.raises(NoInstance):
        runs.acquire()
    assert runs.status()["refused_429"] == 1


def test_idle_instances_retire_down_to_the_minimum():
    clock = Clock()
    runs = pool(clock, maxInstanceRequestConcurrency=1, scaling={"minInstanceCount": 1})
    runs.deploy()
    held = [runs.acquire()[0] for _ in range(3)]
    for instance in held:
        runs.release(instance)
    clock.now = 59
    assert runs.reap() == 0
    clock.now = 61
    assert runs.reap() == 2 and runs.status()["live_instances"] == 1


def test_a_request_that_waited_for_a_start_is_a_cold_start():
    clock = Clock()
    runs = pool(clock)
    runs.deploy()
    runs.release(runs.acquire()[0])
    clock.now = 61
    runs.reap()
    _, cold = runs.acquire()
    assert runs.status()["cold_starts"] == 1 and runs.status()["instances_started"] == 2


def test_a_first_instance_that_fails_fails_the_deploy():
    with pytest.raises(StartFailed):
        pool(Clock(), fails=True).deploy()


@pytest.mark.parametrize("template, says", [
    ({"containers": []}, "exactly one container"),
    ({"containers": [{"image": "i", "resources": {"limits": {"memory": "lots"}}}]}, "memory"),
    ({"containers": [{"image": "i"}], "scaling": {"minInstanceCount": 5, "maxInstanceCount": 2}}, "min_instance"),
    ({"containers": [{"image": "i"}], "timeout": "5m"}, "Invalid duration"),
])
def test_invalid_templates_are_refused(template, says):
    with pytest.raises(resources.GoogleError, match=says):
        resources.normalized_template(template)


def test_quantities_read_as_cloud_run_reads_them():
    assert resources.memory_bytes("1Gi") == 1024**3 and resources.memory_bytes("512Mi") == 512 * 1024**2
    assert resources.cpus("1000m") == 1 and resources.cpus("2") == 2


def test_busy_and_alive_time_are_what_the_two_billing_models_charge():
    # given one instance, started at t=0, busy from 10 to 12 s with two overlapping requests, retired at 80 s
    clock = Clock()
    runs = pool(clock)
    runs.deploy()
    clock.now = 10
    first, _ = runs.acquire()
    second, _ = runs.acquire()
    clock.now = 11
    runs.release(first)
    clock.now = 12
    runs.release(second)
    clock.now = 80
    runs.reap()
    # then: 2 s of request time (overlap counted once), 80 s of instance time
    stats = runs.status()
    assert (stats["busy_instance_s"], stats["alive_instance_s"], stats["live_instances"]) == (2.0, 80.0, 0)
