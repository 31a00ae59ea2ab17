"""An open TODO names the student's own folder, in their language, and the grader reads it back in either."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from labkit import config
from labkit.bilingual import Said, joined, say, text
from labkit.todo import LINE, TodoOpen, Unfinished, open_todo


@pytest.fixture()
def submission():
    """A submission two levels below the repository root, as the README's class folders are."""
    folder = config.REPO_ROOT / "build" / "test-submissions" / "me"
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    folder.rmdir()


@pytest.mark.parametrize("lang, prefix", [("bn", "TODO এখনো বাকি: "), ("en", "TODO still open: ")])
def test_a_todo_in_a_submission_names_that_folder_not_exercises(monkeypatch, submission, lang, prefix):
    # given a student whose code is their own folder, not exercises/
    monkeypatch.setenv("LAB_CODE", "build/test-submissions/me")
    monkeypatch.setenv("LAB_LANG", lang)
    # when a stub of the generated exercises (which name exercises/) raises, or its module-scope value is used
    error = TodoOpen("exercises/train.py split()")
    # then the line names their folder, relative to the repository root, in their language
    assert str(error) == f"{prefix}build/test-submissions/me/train.py split()"
    assert open_todo(error) == str(error) and open_todo(RuntimeError("an ordinary bug")) is None
    assert repr(Unfinished("exercises/app.py MODEL (module scope)")) == \
        f"<{prefix}build/test-submissions/me/app.py MODEL (module scope)>"
    assert error._render_traceback_()[0].startswith(str(error) + ": ")


def test_outside_the_repository_the_folder_is_named_in_full(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_CODE", str(tmp_path))
    monkeypatch.setenv("LAB_LANG", "en")
    assert str(TodoOpen("exercises/app.py predict()")) == f"TODO still open: {tmp_path}/app.py predict()"


def test_without_the_labs_settings_the_stub_keeps_its_own_words(monkeypatch):
    # given settings that cannot be read (in the Lambda image there are none at all)
    monkeypatch.setenv("LAB_LANG", "fr")
    assert str(TodoOpen("exercises/app.py predict()")) == "TODO still open: exercises/app.py predict()"


@pytest.mark.parametrize("line, todo", [
    ("TODO still open: exercises/app.py predict()", ("app.py", "predict")),
    ("TODO এখনো বাকি: submissions/my code/app.py MODEL (module scope)", ("app.py", "MODEL")),
    ('{"error": "TODO still open: /tmp/x/alice/Dockerfile"}', ("Dockerfile", None)),
    ("<TODO এখনো বাকি: build/s/me/train.py split()>", ("train.py", "split")),
])
def test_the_line_is_read_back_in_either_language_from_any_folder(line, todo):
    found = LINE.search(line)
    assert (found["file"], found["name"]) == todo


def test_said_is_the_english_and_carries_the_bengali_through_joins_copies_and_json():
    said = say("3 failed", "৩টা fail")
    together = joined([said, "plain"]) + say(" (more)", " (আরও)")
    assert said == "3 failed" and f"{said}" == "3 failed" and json.dumps(said) == '"3 failed"'
    assert text(together, "en") == "3 failed; plain (more)" and text(together, "bn") == "৩টা fail; plain (আরও)"
    assert text("only English", "bn") == "only English" and ("x: " + said).bn == "x: ৩টা fail"
    for again in (copy.deepcopy(said), pickle.loads(pickle.dumps(said))):
        assert isinstance(again, Said) and again.bn == "৩টা fail"
