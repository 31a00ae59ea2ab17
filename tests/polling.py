"""Waiting for something a background service does: poll a condition, bounded in time.

The loop is the production code's (``lambda_rie.wait_for``); here a timeout is a test failure.
"""

from __future__ import annotations

from lambda_rie import WaitTimeout
from lambda_rie import wait_for as _wait_for


def wait_for(condition, timeout: float = 60, what: str = "the condition"):
    """The first truthy value ``condition()`` returns within ``timeout`` seconds; AssertionError naming ``what`` otherwise."""
    try:
        return _wait_for(condition, timeout, interval=0.1, what=what)
    except WaitTimeout as error:
        raise AssertionError(str(error)) from None
