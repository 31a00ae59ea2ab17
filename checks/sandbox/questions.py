"""What the grader asks each probe, in order: one question per record, the record keyed by the grader.

A driver is a generator: it yields a :class:`Question`, receives its answer, and decides what to ask
next (nothing more of a module that did not import). The operations it names are the probes' (the
``OPS`` of each module of :mod:`checks.probes`); their arguments are the plain data of the step's
plan, so the child learns a case only when it is asked about it.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

Answers = Generator["Question", object, None]


@dataclass(frozen=True)
class Question:
    key: str  # the record the answer becomes
    op: str  # an operation of checks.probes ("train.split", ...)
    args: object
    output: bool = False  # keep what the code printed meanwhile, as the answer's "stdout" and "stderr"


def failed(answer: object) -> bool:
    return not isinstance(answer, dict) or "error" in answer


def train(request: dict) -> Answers:
    """Step 1: import train.py, then its split() and build_model() on the grader's cases, then the saved model."""
    if failed((yield Question("import", "train.import", {}))):
        return
    for number, case in enumerate(request["splits"]):
        yield Question(f"split/{number}", "train.split", case)
    for number, case in enumerate(request["fits"]):
        yield Question(f"fit/{number}", "train.fit", case)
    yield Question("saved", "train.saved", {"metadata": request.get("metadata"), "flowers": request["flowers"]})


def app(request: dict) -> Answers:
    """Step 2: import app.py over the grader's model and send it every event; then again over a broken model."""
    for prefix, task_root, events in (("", "_task", request["events"]), ("broken/", "_broken", request["broken_events"])):
        imported = yield Question(prefix + "import", "app.import", {"task_root": task_root}, output=True)
        if not isinstance(imported, dict) or imported.get("model") == "not imported":
            continue
        for number, case in enumerate(events):
            yield Question(f"{prefix}call/{number}", "app.invoke", {"task_root": task_root, **case}, output=True)


def calls(request: dict) -> Answers:
    """Steps 3-9: each of the student's functions the plan names, with the plan's plain data."""
    for name in request["calls"]:
        yield Question(name, f"calls.{name}", request)


def service(request: dict) -> Answers:
    """Step 9: service.py served in the sandbox with step 2's cases as HTTP requests (over the grader's model, then a
    broken one), then the calls the plan names."""
    for prefix, task_root, requests in (("service/", "_task", request["requests"]),
                                        ("service/broken/", "_broken", request["broken_requests"])):
        if failed((yield Question(prefix + "import", "service.import", {"task_root": task_root}, output=True))):
            continue
        for number, case in enumerate(requests):
            yield Question(f"{prefix}call/{number}", "service.request", {"task_root": task_root, **case}, output=True)
    yield from calls({**request, "requests": [], "broken_requests": []})


def drive(request: dict) -> Answers:
    """A class batch's deployment (:mod:`checks.classroom.driver`): the notebook operations the request names, in order."""
    for name in request["ops"]:
        yield Question(name, f"drive.{name}", request, output=True)


DRIVERS = {"train": train, "app": app, "calls": calls, "service": service, "drive": drive}


def driver(probe: str, request: dict) -> Answers:
    """The questions of one probe (``train``, ``app``, ``calls``, ``service`` or ``drive``) for the plan's request."""
    return DRIVERS[probe](request)
