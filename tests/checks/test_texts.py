"""The grader speaks Bengali first and English on request, from one source.

The Bengali names and hints of the checks are complete (``checks/text/bn.yaml``: every declared
check, no stale key); the step index, a failing report (text, HTML and JSON) and its TODO lines
read in both languages; a submission's TODOs name its own folder; only an instructor's run
says that the code was not sandboxed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid

import pytest

from checks import Context, all_steps, run_steps, texts
from checks.__main__ import VISIBILITY
from checks.framework import todo_label
from checks.report import Report, Result
from labkit import config
from labkit.bilingual import text

BENGALI = re.compile(r"[\u0980-\u09FF]")
STEPS = [1, 2]  # graded offline


def checks_cli(*args: str, lang: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LAB_LANG"} | ({"LAB_LANG": lang} if lang else {})
    return subprocess.run([sys.executable, "-m", "checks", *args], capture_output=True, text=True, timeout=300,
                          cwd=config.REPO_ROOT, env=env)


@pytest.fixture(scope="module")
def untouched(tmp_path_factory):
    """The untouched exercises, graded: every check of steps 1 and 2 fails."""
    settings = config.load({}, code="exercises", build_dir=tmp_path_factory.mktemp("build"))
    return run_steps(STEPS, Context(settings), isolation="process")


@pytest.fixture()
def submission():
    """An untouched copy of exercises/ in a folder two levels below the repository root."""
    folder = config.REPO_ROOT / "build" / "test-submissions" / f"me-{uuid.uuid4().hex[:8]}"
    shutil.copytree(config.REPO_ROOT / "exercises", folder, ignore=shutil.ignore_patterns("__pycache__"))
    yield folder
    shutil.rmtree(folder)


def test_every_declared_check_has_its_bengali_name_and_hint_and_the_catalogue_no_stale_key():
    declared = {c.id for step in all_steps().values() for c in step.checks}
    catalogue = texts.catalogue()
    assert sorted(set(catalogue) - declared) == [], "checks/text/bn.yaml names checks that no step declares"
    incomplete = sorted(i for i in declared if set(catalogue.get(i, {})) != set(texts.FIELDS)
                        or not all(BENGALI.search(catalogue[i][f]) for f in texts.FIELDS))
    assert incomplete == [], "checks/text/bn.yaml lacks a Bengali name or hint"


def test_no_check_is_declared_without_a_hint_in_either_language():
    for step in all_steps().values():
        for check in step.checks:
            assert check.hint.strip() and texts.of_check(check.id, "hint", check.hint, "bn").strip(), check.id


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_the_step_index_is_in_the_students_language(lang):
    # when
    done = checks_cli("--list", lang=None if lang == "bn" else lang)
    # then each step's title, what to write and every check's name read in that language
    assert done.returncode == 0 and not done.stderr
    word, write = {"bn": ("ধাপ", "লিখবে"), "en": ("Step", "write")}[lang]
    for number, step in all_steps().items():
        title = step.title.bn if lang == "bn" else str(step.title)
        assert f"{word} {number}: {title}  [" in done.stdout
        assert f"  {write}: " + ", ".join(todo_label(t) for t in step.todos) in done.stdout
        for check in step.checks:
            shown = text(VISIBILITY[check.visibility], lang) if check.visibility in VISIBILITY else ""
            assert f"{check.points:>2}  {texts.of_check(check.id, 'name', check.name, lang)}{shown}\n" in \
                done.stdout + "\n"
    assert bool(BENGALI.search(done.stdout)) == (lang == "bn")


def test_a_failing_report_reads_in_both_languages_with_a_hint_under_every_failure(untouched):
    bn, en = untouched.summary("bn"), untouched.summary("en")
    assert untouched.lang == "bn" and untouched.summary() == bn  # Bengali unless LAB_LANG=en
    for result in untouched.results:
        shown = result.shown("bn")
        assert all(BENGALI.search(shown[f]) for f in ("name", "hint", "message")), (result.id, shown)
        assert f"  FAIL  {shown['name']} (0/{result.points}) - {shown['message']}\n        hint: {shown['hint']}" in bn
        assert f"  FAIL  {result.name} (0/{result.points}) - {result.message}\n        hint: {result.hint}" in en
    failed = len(untouched.results)
    assert bn.endswith(f"মোট: 0/{untouched.possible} পয়েন্ট, {failed}টা check fail করেছে")
    assert en.endswith(f"Total: 0/{untouched.possible} points, {failed} check(s) failed")
    assert "ধাপ 1: Model train করা" in bn and "Step 1: Train the model" in en and not BENGALI.search(en)
    assert "TODO এখনো বাকি: exercises/train.py split()" in bn and "TODO still open: exercises/train.py split()" in en
    assert untouched.results[0].shown("bn")["name"] in untouched._repr_html_()


def test_json_keeps_its_english_keys_and_adds_the_texts_of_its_language(untouched):
    report = json.loads(untouched.to_json())
    assert report["lang"] == "bn"
    for result, graded in zip(report["results"], untouched.results):
        assert (result["id"], result["name"], result["message"]) == (graded.id, graded.name, str(graded.message))
        assert result["text"] == graded.shown("bn") and BENGALI.search(result["text"]["message"])


def test_a_submissions_todos_name_its_own_folder(submission, tmp_path):
    # given an untouched copy of the exercises in the student's own folder
    folder = submission.relative_to(config.REPO_ROOT).as_posix()
    settings = config.load({}, code=str(submission), build_dir=tmp_path)
    # when it is graded
    report = run_steps(STEPS, Context(settings), isolation="process")
    # then every open TODO is named in that folder, never in exercises/, in both languages
    todos = [r for r in report.results if "TODO" in r.message]
    assert todos and all(f"TODO still open: {folder}/" in r.message for r in todos)
    assert all(f"TODO এখনো বাকি: {folder}/" in r.shown("bn")["message"] for r in todos)
    assert "exercises/" not in report.summary("en") + report.summary("bn")


def test_only_an_instructors_run_says_the_code_was_not_sandboxed(submission, tmp_path):
    # given a report of steps whose code ran in a process, not a container
    report = Report([Result(1, "a", 2, False, "bad", "try x", id="1.a")], {1: "Train"}, {1: "process"}, lang="en")
    # then a student's grade says nothing of it; the instructor's text and the JSON do
    assert "Not sandboxed" not in report.summary() + report._repr_html_()
    assert "Not sandboxed: step(s) 1 ran" in report.summary(sandbox_note=True)
    assert json.loads(report.to_json())["sandboxed"] is False
    # and on the command line: a submission folder is an instructor's run, the exercises a student's
    assert "Not sandboxed" in checks_cli("1", "--code", str(submission), "--build-dir", str(tmp_path),
                                         "--sandbox", "process", lang="en").stdout
    student = checks_cli("1", "--code", "exercises", "--build-dir", str(tmp_path), "--sandbox", "process")
    assert student.returncode == 1 and "Sandbox" not in student.stdout and "ধাপ 1" in student.stdout
