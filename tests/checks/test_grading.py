"""The grader passes the reference solution and fails the untouched exercises with hints."""

from __future__ import annotations

import pytest

from checks import Context, all_steps, run_steps
from labkit import config

OFFLINE_STEPS = [1, 2]  # steps graded without a cloud or a Docker engine


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """Settings with a private build folder holding the reference model."""
    build = tmp_path_factory.mktemp("build")
    reference = config.load({}, code="lab_solution", build_dir=build)
    from lab_solution import train

    train.train(reference.model_dir)
    return reference


def test_reference_solution_passes_every_offline_check(settings):
    # when
    report = run_steps(OFFLINE_STEPS, Context(settings))
    # then
    assert report.passed, report.summary()
    assert report.earned == report.possible > 0


def test_untouched_exercises_fail_every_step_with_hints(settings):
    # when
    report = run_steps(OFFLINE_STEPS, Context(settings.with_overrides(code="exercises")))
    # then
    for number in OFFLINE_STEPS:
        earned, possible = report.step_score(number)
        assert earned < possible, f"step {number} passes with the untouched exercises"
    failed = [r for r in report.results if not r.passed]
    assert failed and all(r.hint for r in failed)
    assert "Traceback" not in report.summary()


def test_every_check_is_declared_with_points_and_a_hint():
    for step in all_steps().values():
        assert step.checks, f"step {step.number} has no checks"
        for check in step.checks:
            assert check.points > 0 and check.hint.strip(), check.name
