"""Step 2 in the child: import app.py as Lambda does and call its handler with the grader's events.

What the handler prints is read by the grader from the child's fds 1 and 2, question by question.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import joblib

from labkit.todo import Unfinished

from .harness import call, import_module, submission_path

_loads: list[str] = []
_modules: dict[str, object] = {}  # task root -> the app module imported over it


def _count_loads() -> None:
    """Count joblib.load calls (once per child): loading the model per request is a mistake step 2 reports."""
    real_load = joblib.load
    if getattr(real_load, "counted", False):
        return

    def counted_load(*args, **kwargs):
        _loads.append(str(args[0]) if args else "?")
        return real_load(*args, **kwargs)

    counted_load.counted = True
    joblib.load = counted_load


def imported(args: dict) -> dict:
    """A fresh copy of app.py over one model folder (``task_root``), as a new execution environment imports it."""
    _count_loads()
    task_root = args["task_root"]
    os.environ["LAMBDA_TASK_ROOT"] = str(submission_path() / task_root)
    _loads.clear()
    outcome = call(lambda: import_module("app", alias=f"app_{task_root.strip('_')}"))
    module = outcome.pop("value", None)
    _modules[task_root] = module
    outcome["loads"] = list(_loads)
    outcome["model"] = _model_state(module)
    if outcome["model"] == "unfinished":
        outcome["todo"] = repr(module.MODEL).strip("<>")
    return outcome


def invoke(args: dict) -> dict:
    """The handler of the app imported over ``task_root``, called with one event and a Lambda context."""
    module = _modules.get(args["task_root"])
    context = SimpleNamespace(aws_request_id=args["request_id"], function_name="serverless-iris",
                              memory_limit_in_mb=1024, invoked_function_arn="arn:aws:lambda:us-east-1:"
                              "123456789012:function:serverless-iris", get_remaining_time_in_millis=lambda: 30_000)
    handler = getattr(module, "handler", None)
    outcome = call(lambda: handler(args["event"], context))
    outcome["loads"] = len(_loads)
    return outcome


OPS = {"app.import": imported, "app.invoke": invoke}


def _model_state(module) -> str:
    if module is None:
        return "not imported"
    model = getattr(module, "MODEL", None)
    if isinstance(model, Unfinished):
        return "unfinished"
    return "none" if model is None else "set"
