"""A student's code cannot crash, hang or fool the grader."""

from __future__ import annotations

import os
import sys
import time

from checks.context import Context
from checks.framework import Check, CheckFailed, Report, Result
from checks.runner import run_check
from labkit import config

CTX = Context(config.load({}, code="lab_solution"))


def declared(func, timeout=10.0):
    return Check(step=9, name=func.__name__, points=2, hint="look here", func=func, timeout=timeout)


def passes(ctx):
    print("noise that must not reach the report")
    return "all good"


def fails(ctx):
    raise CheckFailed("observed 3, expected 4")


def raises(ctx):
    raise KeyError("sepal_length")


def hangs(ctx):
    time.sleep(60)


def exits(ctx):
    sys.exit(3)


def dies(ctx):
    os._exit(9)


def test_a_passing_check_earns_its_points_and_keeps_its_detail():
    result = run_check(declared(passes), CTX)
    assert (result.passed, result.earned, result.message) == (True, 2, "all good")


def test_a_failing_check_reports_its_message_and_hint():
    result = run_check(declared(fails), CTX)
    assert (result.passed, result.earned, result.message, result.hint) == (False, 0, "observed 3, expected 4", "look here")


def test_an_exception_becomes_a_one_line_message():
    result = run_check(declared(raises), CTX)
    assert not result.passed and result.message == "KeyError: 'sepal_length'"


def test_a_hanging_check_times_out():
    started = time.monotonic()
    result = run_check(declared(hangs, timeout=1), CTX)
    assert not result.passed and "timed out after 1 s" in result.message
    assert time.monotonic() - started < 10


def test_exit_and_a_killed_process_are_reported():
    assert "exit(3)" in run_check(declared(exits), CTX).message
    assert "ended abruptly" in run_check(declared(dies), CTX).message


def test_report_renders_as_text_json_and_html():
    report = Report([Result(1, "a", 2, True, "fine"), Result(1, "b<c>", 3, False, "bad", "try x")], {1: "Train"})
    assert "FAIL  b<c> (0/3) - bad" in report.summary() and "hint: try x" in report.summary()
    assert '"earned": 2' in report.to_json()
    assert "b&lt;c&gt;" in report._repr_html_()
