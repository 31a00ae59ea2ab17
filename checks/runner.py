"""Run checks one at a time, each in its own process with a time limit.

A student's code can hang, exit, print, or corrupt the interpreter; none of that
may stop the grader. Each check runs in a child process (forked where the platform
allows, spawned elsewhere), its output is swallowed, and whatever it does ends as a
:class:`~checks.framework.Result` with a message instead of a traceback.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import sys
from collections.abc import Callable, Iterable

from .context import Context
from .framework import Check, CheckFailed, CheckSkipped, Report, Result, all_steps

_MP = multiprocessing.get_context("spawn")  # a fresh interpreter: it grades the files on disk, never a stale copy


def run_steps(numbers: Iterable[int], ctx: Context, progress: Callable[[Check], None] | None = None) -> Report:
    """Grade the given steps in order and return one report."""
    steps = all_steps()
    results: list[Result] = []
    for number in numbers:
        outcome: dict[str, Result] = {}
        for check in steps[number].checks:
            if progress:
                progress(check)
            needed = outcome.get(check.needs)
            if needed is not None and not needed.passed:
                why = needed.message if needed.skipped else f"not run: it needs '{check.needs}' to pass first"
                result = Result(check.step, check.name, check.points, False, why, check.hint, needed.skipped)
            else:
                result = run_check(check, ctx)
            outcome[check.name] = result
            results.append(result)
    return Report(results, {n: steps[n].title for n in numbers})


def run_check(check: Check, ctx: Context) -> Result:
    """Run one check in a child process and turn whatever happens into a Result."""
    receiver, sender = _MP.Pipe(duplex=False)
    child = _MP.Process(target=_child, args=(check.func, ctx, sender), daemon=True)
    child.start()
    sender.close()
    status, message = "error", ""
    if receiver.poll(check.timeout):
        try:
            status, message = receiver.recv()
        except EOFError:
            status, message = "error", f"the check's process ended abruptly (exit code {child.exitcode})"
    else:
        status, message = "error", f"timed out after {check.timeout:.0f} s"
    child.join(1)
    if child.is_alive():
        child.kill()
        child.join()
    if status == "error" and not message:
        message = f"the check's process ended abruptly (exit code {child.exitcode})"
    return Result(check.step, check.name, check.points, status == "pass", message, check.hint, status == "skip")


def _child(func, ctx: Context, sender) -> None:
    """Child process: run the check with its output captured, send (status, message)."""
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            detail = func(ctx)
        reply = ("pass", detail or "")
    except CheckFailed as failure:
        reply = ("fail", str(failure))
    except CheckSkipped as skip:
        reply = ("skip", str(skip))
    except SystemExit as stop:
        reply = ("error", f"the code called exit({stop.code})")
    except BaseException as error:  # noqa: BLE001 - a student's bug must become a message
        reply = ("error", f"{type(error).__name__}: {_first_line(error)}")
    try:
        sender.send(reply)
    finally:
        sender.close()
        sys.stdout.flush()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else "")[:300]
