"""The step index and the notebooks' guard: TODO markers, notebooks and prerequisites agree."""

from __future__ import annotations

import importlib.util
import re

import nbformat
import pytest

from labkit import config, steps
from labkit.steps import StepNotReady
from labkit.todo import STUB

ROOT = config.REPO_ROOT
spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "scripts" / "make_exercises.py")
make_exercises = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_exercises)


SOLUTION_FILES = sorted([*(ROOT / "lab_solution").glob("*.py"), ROOT / "lab_solution" / "Dockerfile"])


def open_todos() -> list[str]:
    """Every TODO the untouched exercises leave open, as "FILE:NAME" ("Dockerfile" for the Dockerfile)."""
    found = []
    for path in SOLUTION_FILES:
        exercise = make_exercises.strip_solutions(path.read_text(), path.name)
        stubs = [where.removeprefix("exercises/").split()[:2] for where in STUB.findall(exercise)]
        found += ["Dockerfile"] if path.name == "Dockerfile" else [f"{f}:{n.removesuffix('()')}" for f, n in stubs]
    return found


def solution_lengths() -> list[int]:
    """The number of non-blank lines in each solution block."""
    blocks = [b for p in SOLUTION_FILES for b in re.findall(r"# BEGIN SOLUTION.*?\n(.*?)# END SOLUTION", p.read_text(), re.S)]
    return [len([line for line in b.splitlines() if line.strip()]) for b in blocks]


def test_the_step_index_names_exactly_the_todos_the_exercises_leave_open():
    indexed = [todo for step in steps.STEPS for todo in step.todos]
    assert sorted(indexed) == sorted(set(open_todos())) and len(set(indexed)) == len(indexed)
    assert 12 <= len(indexed) <= 18, "about 12-18 TODOs, one idea each"
    assert all(1 <= n <= 15 for n in solution_lengths()), "every TODO is 1-15 lines of solution"


def test_every_step_has_its_notebook_and_a_title_in_both_languages():
    for step in steps.STEPS:
        assert (ROOT / step.where).is_file(), step.where
        assert str(step.title).strip() and step.title.bn.strip() and step.title.bn != str(step.title), step.number


@pytest.mark.parametrize("lang, says", [("en", "finish step 1 (Train the model) first, in notebooks/01_train_model.ipynb: "),
                                        ("bn", "আগে ধাপ 1 (Model train করা) শেষ করো, notebooks/01_train_model.ipynb-এ: ")])
def test_a_step_whose_earlier_step_is_unfinished_stops_with_one_line_in_the_students_language(tmp_path, monkeypatch,
                                                                                             lang, says):
    monkeypatch.setenv("LAB_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("LAB_LANG", lang)
    with pytest.raises(StepNotReady) as stopped:
        steps.start(2)
    line = stopped.value._render_traceback_()
    assert line == [str(stopped.value)] and line[0].startswith(says), line
    assert line[0].endswith({"en": "does not exist yet", "bn": "এখনো নেই"}[lang])


def test_the_first_step_and_cleanup_need_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_BUILD_DIR", str(tmp_path))
    assert steps.start(1).build_dir == tmp_path
    assert steps.start(steps.CLEANUP).build_dir == tmp_path


@pytest.mark.parametrize("lang, says", [("en", "needs a Docker engine"), ("bn", "Docker engine লাগবে")])
def test_without_docker_step_9_stops_at_once_naming_the_engine(tmp_path, monkeypatch, lang, says):
    monkeypatch.setenv("LAB_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("LAB_DOCKER", "off")
    monkeypatch.setenv("LAB_LANG", lang)
    with pytest.raises(StepNotReady) as stopped:
        steps.start(9)
    assert says in str(stopped.value) and "scripts/ensure-docker.sh" in str(stopped.value)
    assert steps.unrunnable(steps.STEPS[5], config.load()) is None  # the Lambda path runs in host mode


def test_past_cleanup_a_step_needs_only_the_trained_model(tmp_path, monkeypatch, docker_engine):
    monkeypatch.setenv("LAB_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("LAB_LANG", "en")
    with pytest.raises(StepNotReady, match=r"finish step 1 \(Train the model\)"):
        steps.start(9)
    settings = config.load()
    settings.model_dir.mkdir(parents=True)
    (settings.model_dir / "model.joblib").write_bytes(b"")
    assert steps.start(9).build_dir == tmp_path  # no image, function or API needed: step 9 deploys them again


def test_a_follow_up_notebook_stops_until_its_step_has_left_its_result(tmp_path, monkeypatch):
    # given only step 7's own result among the prerequisites (the earlier ones need a cloud)
    monkeypatch.setenv("LAB_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("LAB_LANG", "en")
    monkeypatch.setattr(steps, "_PREREQUISITES", tuple(p for p in steps._PREREQUISITES if p[0] == 7))
    # then step 7 itself may start, its follow-up may not, until the measurement's summary exists
    assert steps.start(7).build_dir == tmp_path
    with pytest.raises(StepNotReady, match=r"^finish step 7 \(Measure cold vs warm latency\) first, "
                                           r"in notebooks/07_measure_latency\.ipynb: .*summary\.json does not exist yet$"):
        steps.start(7, after=True)
    config.load().latency_dir.mkdir(parents=True)
    (config.load().latency_dir / "summary.json").write_text("{}")
    assert steps.start(7, after=True).build_dir == tmp_path


@pytest.mark.parametrize("step", [s for s in steps.STEPS if s.more], ids=lambda s: str(s.number))
def test_a_follow_up_notebook_starts_after_its_step_and_has_no_grade_cell(step):
    for name in step.more:
        code = [c.source for c in nbformat.read(ROOT / "notebooks" / name, as_version=4).cells if c.cell_type == "code"]
        assert f"steps.start({step.number}, after=True)" in code[0], name
        assert not any("grade(" in source for source in code), f"{name} is not graded; its step's notebook is"
