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

The declaration is in English; the check's id is ``STEP.FUNCTION`` (``1.stratified``), and
``checks/text/bn.yaml`` holds its Bengali name and hint under that id (:mod:`checks.texts`,
looked up when a report is shown). A failure's message is built in both languages where it
is built, with :func:`say` (:mod:`labkit.bilingual`)::

    raise CheckFailed(say(f"only {n} requests", f"মাত্র {n}টা request"))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labkit.bilingual import Said, joined, say
from labkit.todo import LINE, PREFIXES

__all__ = ["VISIBILITIES", "CheckFailed", "CheckSkipped", "Plan", "Run", "Said", "joined", "say", "step", "todo_id",
           "todo_label", "todo_open"]

# Who sees a check in the class outputs written for students (checks.gradebook: Gradescope's results.json, the
# feedback page): "visible" always; "hidden" never by name or message (its points still count in the total);
# "after_due" once the due date has passed. The instructor's report shows every check. A student who runs the
# grader on their own machine sees every check: the secret of a hidden check is its fresh cases, not its code.
VISIBILITIES = ("visible", "hidden", "after_due")


class Verdict(Exception):
    """A check's outcome other than a pass; its message is a ``str`` (English) or a :class:`Said` (both languages)."""

    @property
    def said(self) -> str:
        """The message as it was given: a :class:`Said` keeps its Bengali."""
        return self.args[0] if self.args and isinstance(self.args[0], str) else str(self)


class CheckFailed(Verdict):
    """The step is not right yet; the message tells the student what was observed."""


class CheckSkipped(Verdict):
    """The check cannot run on this machine (e.g. no Docker engine); it neither passes nor fails."""


def todo_id(line: str) -> str | None:
    """``app.py:predict`` for ``TODO still open: exercises/app.py predict()`` (either language, any folder)."""
    found = LINE.search(line)
    return None if found is None else found["file"] + (f":{found['name']}" if found["name"] else "")


def todo_label(todo: str, folder: str = "exercises") -> str:
    """Where a student finds a TODO: ``exercises/app.py predict()``, or in ``folder`` (``submissions/me``)."""
    file, _, name = todo.partition(":")
    return f"{folder}/{file}" + ("" if not name else " MODEL (module scope)" if name.isupper() else f" {name}()")


def todo_open(todo: str, folder: str = "exercises") -> Said:
    """The line that names an open TODO, in both languages (as :mod:`labkit.todo` words it)."""
    where = todo_label(todo, folder)
    return say(PREFIXES["en"] + where, PREFIXES["bn"] + where)


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

    @property
    def folder(self) -> str:
        """The code's folder as the student names it (``exercises``, ``submissions/me``)."""
        from labkit.config import code_label

        return code_label(self.settings)

    def todo(self, line: object) -> Said | None:
        """The open TODO a ``TODO still open: …`` line reports, named in the student's folder; None if none."""
        found = todo_id(line) if isinstance(line, str) else None
        return None if found is None else todo_open(found, self.folder)

    def get(self, key: str):
        """An observation, or a failure saying why the code under test never produced it."""
        if key not in self.records:
            imported = self.records.get("import")
            if isinstance(imported, dict) and imported.get("error"):
                raise CheckFailed(self.todo(imported.get("todo")) or say(
                    f"importing the submission failed: {imported['error']}",
                    f"তোমার code import করা গেল না: {imported['error']}"))
            raise CheckFailed(self.problem or say(f"the code under test never produced {key!r}",
                                                  f"তোমার code {key!r} দেয়নি"))
        return self.records[key]

    def value(self, key: str):
        """The value a call returned; its error (with any open TODO) becomes the failure."""
        observed = self.get(key)
        if isinstance(observed, dict) and "error" in observed:
            raise CheckFailed(self.todo(observed.get("todo")) or failed_with(observed["error"]))
        return observed.get("value") if isinstance(observed, dict) else observed


def failed_with(error: str) -> Said:
    """A call of the student's code that raised ``error`` (its type and first line)."""
    return say(error, f"তোমার code error দিল: {error}")


@dataclass(frozen=True)
class Check:
    step: int
    name: str
    points: int
    hint: str
    func: Callable
    todos: tuple[str, ...] = ()
    needs: str | None = None  # name of an earlier check in the same step this one builds on
    visibility: str = "visible"  # one of VISIBILITIES

    @property
    def id(self) -> str:
        """``STEP.FUNCTION`` (``1.split_sizes``): the key of its Bengali text, and of the check in JSON reports."""
        return f"{self.step}.{self.func.__name__}"


@dataclass
class Step:
    number: int
    title: str  # labkit.steps' title: English, a Said carrying its Bengali
    notebook: str
    checks: list[Check] = field(default_factory=list)
    planner: Callable | None = None
    order: tuple[str, ...] = ()  # the step's TODOs in notebook order (labkit.steps)
    unobserved: tuple[str, ...] = ()  # TODOs the probe never calls: judged open while their stub is in the source

    def observe(self, planner: Callable) -> Callable:
        """Decorator: ``planner(ctx) -> Plan`` says what to run in the sandbox for this step."""
        self.planner = planner
        return planner

    def check(self, name: str, *, points: int, hint: str, todos: tuple[str, ...] = (), needs: str | None = None,
              visibility: str = "visible"):
        """Decorator that declares a check of this step (``visibility``: one of :data:`VISIBILITIES`)."""
        if visibility not in VISIBILITIES:
            raise ValueError(f"check {name!r}: visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
        if needs is not None and needs not in {c.name for c in self.checks}:
            raise ValueError(f"check {name!r} needs {needs!r}, which is not declared before it")
        if not set(todos) <= set(self.order):
            raise ValueError(f"check {name!r} depends on {sorted(set(todos) - set(self.order))}, not TODOs of its step")

        def declare(func: Callable) -> Callable:
            check = Check(self.number, name, points, hint, func, tuple(todos), needs, visibility)
            if check.id in {c.id for c in self.checks}:
                raise ValueError(f"two checks of step {self.number} are decided by a function named {func.__name__}")
            self.checks.append(check)
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
