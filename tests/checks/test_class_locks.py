"""The class's locks (checks.classroom.locks) between real holders: two ClassLocks on one folder conflict as two
workers' do (flock locks belong to open files, not to processes), so threads stand in for the workers."""

from __future__ import annotations

import os
import threading
import time

from checks.classroom.locks import ClassLocks


def held_by_another(folder, hold: str, seconds: float, lease: float) -> tuple[threading.Thread, list]:
    """A worker that takes ``hold`` ("alone" or "building") with ``lease`` and keeps at it for ``seconds``."""
    taken, leases = threading.Event(), []

    def work():
        with getattr(ClassLocks(folder), hold)(lease) as lease_held:
            leases.append(lease_held)
            taken.set()
            time.sleep(seconds)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    assert taken.wait(10)
    return worker, leases


def wait_for(locks: ClassLocks, want: str) -> float:
    """Seconds until ``want`` ("alone" or "building") is held, as the waiting worker counts them."""
    with getattr(locks, want)():
        return locks.waited


def test_a_measurement_waits_for_another_while_it_is_within_its_lease(tmp_path):
    worker, leases = held_by_another(tmp_path, "alone", seconds=1.5, lease=30)
    waited = wait_for(ClassLocks(tmp_path), "alone")
    worker.join(10)
    assert waited > 1.0 and not leases[0].expired


def test_a_measurement_that_outlives_its_lease_lets_the_class_go_on_and_knows_it(tmp_path):
    worker, leases = held_by_another(tmp_path, "alone", seconds=20, lease=0.5)
    started = time.monotonic()
    for want in ("building", "alone"):  # neither a build nor the next measurement waits for the hanging one
        wait_for(ClassLocks(tmp_path), want)
    assert time.monotonic() - started < 5 and leases[0].expired


def test_a_build_that_outlives_its_lease_lets_a_measurement_in(tmp_path):
    _, leases = held_by_another(tmp_path, "building", seconds=20, lease=0.5)
    started = time.monotonic()
    wait_for(ClassLocks(tmp_path), "alone")
    assert time.monotonic() - started < 5 and leases[0].expired


def test_a_lease_let_go_early_closes_only_its_own_files(tmp_path):
    locks = ClassLocks(tmp_path)
    with locks.alone(0.2) as lease:
        time.sleep(0.6)  # the lease ran out: its descriptors are closed, and their numbers free again
        reused = [os.open(os.devnull, os.O_RDONLY) for _ in range(4)]
    try:
        for fd in reused:  # leaving the block closed nothing a second time
            os.fstat(fd)
        assert lease.expired
    finally:
        for fd in reused:
            os.close(fd)
