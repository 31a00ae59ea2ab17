"""Grade steps: observe each step once in the sandbox, then decide every check in the grader.

A step's student code runs in one sandboxed child (:mod:`checks.sandbox`), so a hanging
import costs one timeout per step, not one per check. The checks then judge the child's
plain observations here, in the grader's process: nothing the submission computes is
taken as a verdict. A check whose declared TODO is still open fails with the
``TODO still open: …`` line the child reported (named in the student's folder and
language); a check whose own code fails unexpectedly fails with a one-line message,
never a traceback. Messages built here are in both languages (:func:`say`); the report
shows them in the run's ``LAB_LANG``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from labkit.bilingual import text
from labkit.todo import STUB

from . import texts
from .context import Context
from .framework import Check, CheckFailed, CheckSkipped, Run, Said, Step, all_steps, say, todo_id, todo_open
from .report import Report, Result
from .sandbox import container, spawn

ISOLATIONS = ("auto", "docker", "process")


def choose_isolation(requested: str = "auto") -> str:
    """``docker`` when asked for (building the sandbox image if need be), or with ``auto`` when an engine
    answers and the image is already there (so that a notebook's grade cell never waits for a build)."""
    if requested == "process":
        return "process"
    if container.docker_available() and container.ensure_sandbox_image(build=requested == "docker"):
        return "docker"
    if requested == "docker":
        raise RuntimeError("--sandbox docker: no Docker engine answers, or the sandbox image does not build")
    return "process"


def run_steps(numbers: Iterable[int], ctx: Context, progress: Callable[[Check], None] | None = None, *,
              isolation: str = "process", step_timeout: float | None = None) -> Report:
    """Grade the given steps in order and return one report."""
    steps = all_steps()
    results: list[Result] = []
    report = Report(results, {}, lang=ctx.settings.lang)
    for number in numbers:
        step = steps[number]
        report.titles[number] = step.title
        run = observe(step, ctx, isolation, step_timeout)
        if run.plan is not None:
            report.isolation[number] = run.isolation
        results += judge(step, run, progress)
    return report


def observe(step: Step, ctx: Context, isolation: str, step_timeout: float | None) -> Run:
    """Run the step's probe in the sandbox (if it has one) and keep what came back."""
    run = Run(ctx)
    if step.planner is None:  # nothing of the student's runs here: the step's stubs, still in the source, say enough
        run.records["stubs"] = stubs(ctx, step.todos)
        return run
    try:
        run.plan = step.planner(ctx)
    except CheckFailed as failure:  # e.g. nothing deployed yet: an open TODO in the source says why, if there is one
        run.problem = failure.said
        run.records["stubs"] = stubs(ctx, step.todos)
        return run
    plan = run.plan
    how = isolation if plan.in_container else "process"
    try:
        outcome = spawn.run_probe(plan.probe, plan.request, plan.files, timeout=step_timeout or plan.timeout,
                                  network=plan.network, isolation=how, environ=ctx.child_environment(),
                                  reach=ctx.reach())
    finally:
        if plan.after is not None:  # e.g. step 8's decoys: looked at, then removed, whatever the probe did
            run.facts.update(plan.after(run) or {})
    run.records, run.problem, run.isolation = outcome.records, outcome.problem, outcome.isolation
    run.tampered = outcome.tampered
    if not run.tampered:  # the grader's own reading: a stub still in the source is an open TODO, whatever was answered
        run.records["stubs"] = stubs(ctx, {*step.todos, *step.unobserved})
    return run


def judge(step: Step, run: Run, progress: Callable[[Check], None] | None) -> list[Result]:
    """Every check of one step, decided from the step's observations."""
    open_todos = reported_todos(run.records, run.folder)
    done: dict[str, Result] = {}
    for check in step.checks:
        if progress:
            progress(check)
        needed = done.get(check.needs)
        blamed = next((open_todos[t] for t in check.todos if t in open_todos), None)
        if needed is not None and not needed.passed:
            why = needed.message if needed.skipped else say(
                f"not run: it needs '{check.needs}' to pass first",
                f"চালানো হয়নি: আগে '{texts.of_check(needed.id, 'name', check.needs, 'bn')}' pass করতে হবে")
            result = outcome(check, False, why, needed.skipped)
        elif run.tampered:  # nothing of this step can be believed, not even a file that exists
            result = outcome(check, False, run.problem)
        elif blamed:
            result = outcome(check, False, blamed)
        else:
            result = decide(check, run)
        done[check.name] = result
    return list(done.values())


def decide(check: Check, run: Run) -> Result:
    """Run one check's judgement (grader code) and turn whatever happens into a Result."""
    status, message = "error", ""
    try:
        status, message = "pass", check.func(run) or ""
    except CheckFailed as failure:
        status, message = "fail", failure.said
    except CheckSkipped as skip:
        status, message = "skip", skip.said
    except Exception as error:  # noqa: BLE001 - an answer of an unexpected shape must become a message
        problem = f"{type(error).__name__}: {_first_line(error)}"
        message = say(f"unexpected answer from the code under test ({problem})",
                      f"তোমার code এমন আকারের উত্তর দিয়েছে যা আশা করা হয়নি ({problem})")
    return outcome(check, status == "pass", message, status == "skip")


def outcome(check: Check, passed: bool, message: str, skipped: bool = False) -> Result:
    """The check's Result, its message cut to 500 characters in each language."""
    message = Said(str(message)[:500], text(message, "bn")[:500])
    return Result(check.step, check.name, check.points, passed, message, check.hint, skipped, check.id, check.visibility)


def stubs(ctx: Context, todos: Iterable[str]) -> list[str]:
    """The stubs of these TODOs that are still in the submission's files (read as text, never run)."""
    todos = set(todos)
    found = []
    for name in sorted({todo.split(":")[0] for todo in todos}):
        path = ctx.source(name)
        text = path.read_text(errors="replace")[:1_000_000] if path.is_file() else ""
        found += [f"TODO still open: {stub['where']}" for line in text.splitlines()
                  if (stub := STUB.search(line)) and not line.lstrip().startswith("#")]
    return [line for line in found if todo_id(line) in todos]


def reported_todos(records: object, folder: str = "exercises") -> dict[str, Said]:
    """Every ``TODO still open`` line in the observations (either language), by TODO id (``app.py:predict``),
    as the line that names it in the student's ``folder``."""
    found: dict[str, Said] = {}

    def walk(value: object, depth: int = 0) -> None:
        if depth > 12:
            return
        if isinstance(value, str):
            if "TODO " in value and (todo := todo_id(value)):
                found.setdefault(todo, todo_open(todo, folder))
        elif isinstance(value, dict):
            for key, item in value.items():
                if key not in ("stdout", "stderr"):  # a traceback printed to the log is not an answer
                    walk(item, depth + 1)
        elif isinstance(value, list):
            for item in value:
                walk(item, depth + 1)

    walk(records)
    return found


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else "")[:300]
