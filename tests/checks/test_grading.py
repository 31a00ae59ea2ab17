"""The grader: full marks for the reference, nothing for the untouched exercises, a step index, honest output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import joblib
import pytest
from sklearn.datasets import load_iris

from checks import Context, all_steps, run_steps
from checks.framework import todo_label
from lab_solution import train
from labkit import config, steps

OFFLINE_STEPS = [1, 2]  # steps graded without a cloud or a Docker engine


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """Settings with a private build folder holding the reference model."""
    build = tmp_path_factory.mktemp("build")
    reference = config.load({}, code="lab_solution", build_dir=build)
    train.train(reference.model_dir)
    return reference


def test_reference_solution_passes_every_offline_check(settings):
    # when
    report = run_steps(OFFLINE_STEPS, Context(settings))
    # then
    assert report.passed, report.summary()
    assert report.earned == report.possible > 0


@pytest.mark.parametrize("stale_model", [False, True], ids=["no model", "a reference model left in build/"])
def test_untouched_exercises_score_zero_with_hints_that_name_the_todo(settings, tmp_path, stale_model):
    # given the untouched exercises, with or without a model some earlier run left behind
    build = settings.build_dir if stale_model else tmp_path
    # when
    report = run_steps(OFFLINE_STEPS, Context(settings.with_overrides(code="exercises", build_dir=build)))
    # then no free points, and every failure names a TODO of its step or the check it waits for
    assert report.earned == 0, report.summary()
    for result in report.results:
        assert result.hint and ("TODO still open: exercises/" in result.message or "not run: it needs" in result.message)
    assert "Traceback" not in report.summary()


def test_a_model_saved_again_after_train_is_blamed_on_the_stale_metadata_file(settings, tmp_path):
    # given train()'s two files, and later model.joblib saved again by another cell (refitted on every flower)
    folder = tmp_path / "build" / "model"
    shutil.copytree(settings.model_dir, folder)
    iris = load_iris()
    joblib.dump(joblib.load(folder / "model.joblib").fit(iris.data, iris.target_names[iris.target]), folder / "model.joblib")
    written = (folder / "metadata.json").stat().st_mtime_ns
    os.utime(folder / "model.joblib", ns=(written + 10**9, written + 10**9))
    # when
    report = run_steps([1], Context(settings.with_overrides(build_dir=folder.parent)), isolation="process")
    # then only the metadata check fails, and it says the file on disk is older than the model, in both languages
    [stale] = [r for r in report.results if not r.passed]
    assert stale.id == "1.metadata_matches" and "older than model.joblib" in stale.message
    assert "run train() again" in stale.message and "train() আবার চালাও" in stale.shown("bn")["message"]


def test_every_check_is_declared_with_points_a_hint_and_the_todos_of_its_step():
    index = {s.number: s for s in steps.STEPS}
    for step in all_steps().values():
        assert step.checks and (step.title, step.notebook) == (index[step.number].title, index[step.number].notebook)
        assert step.todos == list(index[step.number].todos), f"step {step.number} leaves a TODO unchecked"
        for check in step.checks:
            assert check.points > 0 and check.hint.strip() and check.todos, check.name


def test_list_prints_per_step_the_notebook_what_to_write_and_each_check_with_its_points():
    # when
    done = subprocess.run([sys.executable, "-m", "checks", "--list"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LAB_LANG": "en"})
    # then
    assert done.returncode == 0 and not done.stderr
    for step in all_steps().values():
        assert f"notebooks/{step.notebook}" in done.stdout
        assert all(todo_label(t) in done.stdout for t in step.todos)
        assert all(f"{c.points:>2}  {c.name}" in done.stdout for c in step.checks)


def test_json_is_the_only_output_and_out_writes_the_same_report(settings, tmp_path):
    # when
    out = tmp_path / "grade.json"
    done = subprocess.run([sys.executable, "-m", "checks", "2", "--code", "lab_solution", "--build-dir",
                           str(settings.build_dir), "--json", "--out", str(out), "--sandbox", "process"],
                          capture_output=True, text=True, timeout=300, cwd=config.REPO_ROOT)
    # then
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["passed"] and json.loads(out.read_text()) == report
    assert report["isolation"]["2"].startswith("process") and report["sandboxed"] is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grade.json"]  # no temporary file next to it


def test_a_usage_mistake_is_one_line_and_leaves_no_old_report(tmp_path):
    out = tmp_path / "grade.json"
    out.write_text("{\"passed\": true}")
    done = subprocess.run([sys.executable, "-m", "checks", "1", "--code", str(tmp_path / "missing"), "--out", str(out)],
                          capture_output=True, text=True, timeout=60, cwd=config.REPO_ROOT)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not out.exists()


EQUIVALENTS = sorted((config.REPO_ROOT / "tests" / "checks" / "equivalents").glob("*.patch"))


@pytest.mark.parametrize("patch", EQUIVALENTS, ids=[p.stem for p in EQUIVALENTS])
def test_an_equivalent_spelling_of_the_reference_keeps_full_marks(settings, tmp_path, patch):
    import mutation

    [equivalent] = [m for m in mutation.mutants_in(patch.parent) if m.patch == patch]
    failed, possible, _ = mutation.grade_in_process(equivalent, tmp_path, settings.model_dir)
    assert possible > 0 and failed == set(), f"{equivalent.what}: failed {sorted(failed)}"
