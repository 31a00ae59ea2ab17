"""Waiting for something a background service does: poll a condition, bounded in time."""

from __future__ import annotations

import time


def wait_for(condition, timeout: float = 60, what: str = "the condition"):
    """The first truthy value ``condition()`` returns within ``timeout`` seconds; AssertionError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s")
