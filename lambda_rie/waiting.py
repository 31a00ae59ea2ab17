"""Waiting for something another process does: poll a condition, bounded in time.

This is the one poll loop of the production code (``labkit``, ``checks`` and ``localcloud`` all
import it from here); the tests' ``tests/polling.py`` turns its timeout into a test failure.
Retries with a backoff are not polls and do not use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """The condition did not come true within the time given."""


def wait_for(condition: Callable[[], T], timeout: float, *, interval: float = 0.1, what: str = "the condition",
             clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``condition()`` every ``interval`` seconds until it returns something truthy, and return that.

    The condition may raise to stop the wait early (a process that exited will never listen). It is
    called once more after the time is up, so a slow last poll still counts.

    Args:
        condition: what to poll; its first truthy result is returned.
        timeout: seconds, by ``clock``.
        interval: seconds to sleep between two polls.
        what: names the condition in the timeout's message.
        clock, sleep: injectable for tests (default: ``time.monotonic``, ``time.sleep``).

    Raises:
        WaitTimeout: ``timeout`` seconds passed and the condition never held.
    """
    deadline = clock() + timeout
    while True:
        if found := condition():
            return found
        if clock() >= deadline:
            raise WaitTimeout(f"{what} did not happen within {timeout:g} s")
        sleep(interval)
