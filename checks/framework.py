"""How checks are declared, and how their results read in a terminal and a notebook.

A step declares what to observe of the submission (:meth:`Step.observe`: a probe that
runs the student's code in the sandbox and returns plain data) and its checks. A check
is a function of a :class:`Run` that returns quietly (or with a short detail) when the
step is right and raises :class:`CheckFailed` when it is not; it runs in the grader's
process and decides from the observations alone. Each check names the TODOs it depends
on, so that an open TODO is the message of exactly the checks that need it::

    @STEP.check("split() keeps species proportions", points=1, todos=("train.py:split",),
                hint="train.py split(): stratify by species.")
    def stratified(run):
        ...
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TODO_LINE = re.compile(r"TODO still open: exercises/(?P<file>[\w.]+)(?: (?P<name>\w+))?")


class CheckFailed(Exception):
    """The step is not right yet; the message tells the student what was observed."""


class CheckSkipped(Exception):
    """The check cannot run on this machine (e.g. no Docker engine); it neither passes nor fails."""


def todo_id(line: str) -> str | None:
    """``app.py:predict`` for ``TODO still open: exercises/app.py predict()``."""
    found = TODO_LINE.search(line)
    return None if found is None else found["file"] + (f":{found['name']}" if found["name"] else "")


def todo_label(todo: str) -> str:
    """Where a student finds a TODO: ``exercises/app.py predict()``."""
    file, _, name = todo.partition(":")
    return f"exercises/{file}" + ("" if not name else " MODEL (module scope)" if name.isupper() else f" {name}()")


@dataclass(frozen=True)
class Plan:
    """What to run in the sandbox for one step, what that code needs there, and what the grader keeps to itself.

    The sandbox is chosen from the needs declared here (:attr:`Plan.in_container`), never from the probe.
    """

    probe: str  # what the grader asks the child: "train", "app", "calls" or "service" (checks.sandbox.questions)
    request: dict  # plain data sent to the child
    files: dict[str, Path | bytes]  # copied (or written) read-only into the child's submission folder
    timeout: float = 60.0
    network: bool = False  # the code under test needs the host's network (it calls the cloud)
    lab_environment: bool = False  # it needs the lab's settings and packages (boto3, labkit's Docker and cloud helpers)
    secret: dict = field(default_factory=dict)  # the grader's expectations; never sent
    after: Callable | None = None  # the grader's own look afterwards (and its tidying up): run -> facts, always run

    @property
    def in_container(self) -> bool:
        """Whether the sandbox container can run it: it has no network, no lab settings and only the image's packages.

        Code that needs either runs in the process sandbox, with the grader's interpreter and the settings.
        """
        return not (self.network or self.lab_environment)


@dataclass
class Run:
    """One step's evidence: the settings, the plan and the sandbox's observations."""

    ctx: object
    plan: Plan | None = None
    records: dict = field(default_factory=dict)
    problem: str = ""
    isolation: str = ""
    tampered: bool = False
    facts: dict = field(default_factory=dict)  # what one check found for the next (e.g. the built image's id)

    @property
    def settings(self):
        return self.ctx.settings

    def client(self, service: str):
        """A boto3 client for the grader's own questions to the cloud."""
        return self.ctx.client(service)

    def get(self, key: str):
        """An observation, or a failure saying why the code under test never produced it."""
        if key not in self.records:
            imported = self.records.get("import")
            if isinstance(imported, dict) and imported.get("error"):
                raise CheckFailed(imported.get("todo") or f"importing the submission failed: {imported['error']}")
            raise CheckFailed(self.problem or f"the code under test never produced {key!r}")
        return self.records[key]

    def value(self, key: str):
        """The value a call returned; its error (with any open TODO) becomes the failure."""
        observed = self.get(key)
        if isinstance(observed, dict) and "error" in observed:
            raise CheckFailed(observed.get("todo") or observed["error"])
        return observed.get("value") if isinstance(observed, dict) else observed


@dataclass(frozen=True)
class Check:
    step: int
    name: str
    points: int
    hint: str
    func: Callable
    todos: tuple[str, ...] = ()
    needs: str | None = None  # name of an earlier check in the same step this one builds on


@dataclass
class Step:
    number: int
    title: str
    notebook: str
    checks: list[Check] = field(default_factory=list)
    planner: Callable | None = None
    order: tuple[str, ...] = ()  # the step's TODOs in notebook order (labkit.steps)
    unobserved: tuple[str, ...] = ()  # TODOs the probe never calls: judged open while their stub is in the source

    def observe(self, planner: Callable) -> Callable:
        """Decorator: ``planner(ctx) -> Plan`` says what to run in the sandbox for this step."""
        self.planner = planner
        return planner

    def check(self, name: str, *, points: int, hint: str, todos: tuple[str, ...] = (), needs: str | None = None):
        """Decorator that declares a check of this step."""
        if needs is not None and needs not in {c.name for c in self.checks}:
            raise ValueError(f"check {name!r} needs {needs!r}, which is not declared before it")
        if not set(todos) <= set(self.order):
            raise ValueError(f"check {name!r} depends on {sorted(set(todos) - set(self.order))}, not TODOs of its step")

        def declare(func: Callable) -> Callable:
            self.checks.append(Check(self.number, name, points, hint, func, tuple(todos), needs))
            return func

        return declare

    @property
    def todos(self) -> list[str]:
        """The TODOs this step's checks depend on, in notebook order."""
        used = {t for c in self.checks for t in c.todos}
        return [t for t in self.order if t in used]


STEPS: dict[int, Step] = {}
STEP_MODULES = ("step1_train", "step2_handler", "step3_image", "step4_registry", "step5_function",
                "step6_gateway", "step7_latency", "step8_cleanup", "step9_cloudrun")  # a fixed list: nothing on disk is globbed


def step(number: int) -> Step:
    """Declare a lab step (once per ``checks/stepN_*.py`` module): title, notebook and TODOs from labkit.steps."""
    from labkit import steps

    known = {s.number: s for s in steps.STEPS}[number]
    STEPS[number] = Step(number, known.title, known.notebook, order=known.todos)
    return STEPS[number]


def all_steps() -> dict[int, Step]:
    """Every declared step, importing the step modules that are not imported yet.

    Lazy, so that ``checks.events`` can be imported without scikit-learn and boto3.
    """
    import importlib

    for module in STEP_MODULES:
        importlib.import_module(f"{__package__}.{module}")  # a no-op once imported
    return dict(sorted(STEPS.items()))
