"""Step 2 in the child: import app.py as Lambda does and call its handler with the grader's events."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from types import SimpleNamespace

import joblib

from labkit.todo import Unfinished

from .harness import call, emit, import_module, submission_path

OUTPUT_LIMIT = 20_000
_loads: list[str] = []


def run(request: dict) -> None:
    real_load = joblib.load

    def counted_load(*args, **kwargs):
        _loads.append(str(args[0]) if args else "?")
        return real_load(*args, **kwargs)

    joblib.load = counted_load
    _handler_run("", "_task", request["events"])
    _handler_run("broken/", "_broken", request["broken_events"])


def _handler_run(prefix: str, task_root: str, events: list[dict]) -> None:
    """Import a fresh copy of app.py over one model folder, then send it every event in order."""
    os.environ["LAMBDA_TASK_ROOT"] = str(submission_path() / task_root)
    _loads.clear()
    imported = _captured(lambda: import_module("app", alias=f"app_{task_root.strip('_')}"))
    module = imported.pop("value", None)
    imported["loads"] = list(_loads)
    imported["model"] = _model_state(module)
    if imported["model"] == "unfinished":
        imported["todo"] = repr(module.MODEL).strip("<>")
    emit(prefix + "import", imported)
    if module is None:
        return
    for number, case in enumerate(events):
        context = SimpleNamespace(aws_request_id=case["request_id"], function_name="serverless-iris",
                                  memory_limit_in_mb=1024, invoked_function_arn="arn:aws:lambda:us-east-1:"
                                  "123456789012:function:serverless-iris", get_remaining_time_in_millis=lambda: 30_000)
        handler = getattr(module, "handler", None)
        outcome = _captured(lambda h=handler, e=case["event"], c=context: h(e, c))
        outcome["loads"] = len(_loads)
        emit(f"{prefix}call/{number}", outcome)


def _model_state(module) -> str:
    if module is None:
        return "not imported"
    model = getattr(module, "MODEL", None)
    if isinstance(model, Unfinished):
        return "unfinished"
    return "none" if model is None else "set"


def _captured(function) -> dict:
    """Call with fds 1 and 2 captured at the OS level (print, os.write and child processes alike)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        _flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            outcome = call(function)
        finally:
            _flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        for name, handle in (("stdout", out), ("stderr", err)):
            handle.seek(0)
            outcome[name] = handle.read(OUTPUT_LIMIT).decode("utf-8", "replace")
    return outcome


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):  # a submission may have replaced or closed them
            stream.flush()
