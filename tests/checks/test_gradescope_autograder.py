"""Gradescope's autograder, run as Gradescope runs it, in a temporary ``/autograder`` tree (``AUTOGRADER_ROOT``).

The bundle (``python -m checks gradescope-bundle``) is unzipped into ``source/``, ``run_autograder`` copied to the
root, a submission put in ``submission/`` with a ``submission_metadata.json``; ``setup.sh`` runs (with
``LAB_AUTOGRADER_PYTHON``, the test's interpreter, it must find everything installed and install nothing), then
``bash run_autograder`` with the working directory the tree's root, once for the reference and once for a
one-mistake submission of step 5, side by side. ``results.json`` must follow the specification's fields and give
each the score its mistake deserves; nothing is left running. A submission that rewrites the grader's files is not
graded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import mutation
import pytest

from checks.autograder import grade as autograder
from checks.framework import all_steps
from checks.sandbox import confine
from polling import wait_for

HERE = Path(__file__).resolve().parent
MUTANT = "deploy_typed_memory"  # step 5: deploy() types in its own memory size
CHECKS = {c.name: c for step in all_steps().values() for c in step.checks}
VISIBILITY = {"visible", "hidden", "after_due_date", "after_published"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "checks", "gradescope-bundle", str(out)], capture_output=True,
                          text=True, timeout=60, cwd=mutation.REPO, env={**os.environ, "PYTHONPATH": str(mutation.REPO)})
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def layout(root: Path, bundle: Path, code: Path, due: str) -> Path:
    """The /autograder tree as Gradescope lays it out: source/ (the zip, modes kept), run_autograder, submission/."""
    source = root / "source"
    with zipfile.ZipFile(bundle) as zipped:
        for member in zipped.infolist():
            zipped.extract(member, source)
            (source / member.filename).chmod((member.external_attr >> 16) & 0o777)
    shutil.copy2(source / "run_autograder", root / "run_autograder")
    shutil.copytree(code, root / "submission", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "results").mkdir()
    (root / "submission_metadata.json").write_text(json.dumps({
        "id": 1, "created_at": "2026-12-01T10:00:00+06:00", "submission_method": "upload",
        "assignment": {"due_date": due, "id": 2, "title": "Serverless AI lab", "total_points": "80.0"},
        "users": [{"email": "student@example.org", "id": 3, "name": "Student"}], "previous_submissions": []}))
    return root


def environ(root: Path, scratch: Path) -> dict:
    """Gradescope's run: the tree's root; this test's interpreter; temporary files in ``scratch`` (checked after)."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "AUTOGRADER_ROOT": str(root),
            "LAB_AUTOGRADER_PYTHON": sys.executable, "LAB_LANG": "en", "TMPDIR": str(scratch)}


def valid(results: dict) -> list[dict]:
    """The tests of a results.json that has the specification's fields and types; AssertionError otherwise."""
    assert isinstance(results["score"], float) and isinstance(results["execution_time"], int | float)
    assert isinstance(results["output"], str) and results["output"] and results.get("visibility", "visible") in VISIBILITY
    tests = results["tests"]
    assert tests and isinstance(tests, list)
    for test in tests:
        assert {"score", "max_score", "status", "name", "number", "output", "visibility"} <= test.keys(), test
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"] and test["status"] in ("passed", "failed")
        assert isinstance(test["name"], str) and test["name"] and isinstance(test["output"], str)
        assert re.fullmatch(r"[1-9]\.\d+", test["number"]) and test["visibility"] in VISIBILITY
    assert [t["number"] for t in tests] == sorted({t["number"] for t in tests}, key=lambda n: tuple(map(int, n.split("."))))
    assert results["score"] == sum(t["score"] for t in tests)
    return tests


def results_of(roots: dict[str, Path], who: str) -> dict:
    """The ``results.json`` that ``run_autograder`` wrote for ``who``."""
    return json.loads((roots[who] / "results" / "results.json").read_text())


def named(tests: list[dict], name: str) -> dict:
    return next(t for t in tests if t["name"].endswith(f" / {name}") or t["name"] == name)


@pytest.fixture(scope="module")
def graded(bundle, tmp_path_factory):
    if not confine.confinable():
        pytest.skip("the sandbox cannot confine a process here: host-mode functions need root and unshare")
    mutant = next(m for m in mutation.mutants_in(HERE / "cloud_mutants") if m.name == MUTANT)
    base = tmp_path_factory.mktemp("gradescope")
    roots = {"reference": layout(base / "reference" / "autograder", bundle, mutation.SOLUTION, "2099-01-01T00:00:00Z"),
             "mutant": layout(base / "mutant" / "autograder", bundle, mutation.submission(mutant, base / "code"),
                              "2026-01-01T00:00:00+06:00")}
    scratch = Path(tempfile.mkdtemp(prefix="gradescope-test-"))  # like /tmp: every user's, sticky
    scratch.chmod(0o1777)
    setup = {}
    for who, root in roots.items():  # Gradescope runs setup.sh once, when it builds the image
        clock = time.monotonic()
        done = subprocess.run(["bash", "setup.sh"], cwd=root / "source", env=environ(root, scratch), capture_output=True,
                              text=True, timeout=120)
        setup[who] = (done, time.monotonic() - clock)
    runs = {}
    for who, root in roots.items():  # then run_autograder for a submission; the two side by side
        with (root / "results" / "stdout").open("w") as stdout:
            runs[who] = subprocess.Popen(["bash", str(root / "run_autograder")], cwd=root, env=environ(root, scratch),
                                         stdout=stdout, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        codes = {who: run.wait(timeout=600) for who, run in runs.items()}
    finally:
        for run in runs.values():
            run.kill()
    yield roots, mutant, setup, codes, scratch
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.integration
def test_setup_sh_finds_everything_installed_and_is_quick(graded):
    roots, _, setup, _, _ = graded
    for done, seconds in setup.values():
        assert done.returncode == 0, done.stdout + done.stderr
        assert "installing" not in done.stdout and "setup.sh: ready (Python 3.11" in done.stdout, done.stdout
        assert seconds < 30, seconds
    assert (roots["reference"] / "source" / ".python").read_text().strip() == sys.executable
    assert not (roots["reference"] / "source" / "lab_solution").exists()  # the answers are not in the bundle


@pytest.mark.integration
def test_the_reference_gets_full_marks_and_the_skipped_checks_are_said(graded):
    roots, _, _, codes, _ = graded
    stdout = (roots["reference"] / "results" / "stdout").read_text()
    assert codes["reference"] == 0, stdout
    results = results_of(roots, "reference")
    tests = valid(results)
    assert results["score"] == sum(t["max_score"] for t in tests) > 0, stdout
    assert all(t["status"] == "passed" for t in tests)
    skipped = [t for t in tests if "skipped" in t.get("tags", [])]
    assert {t["number"].split(".")[0] for t in skipped} == {"3", "9"} and all(t["max_score"] == 0 for t in skipped)
    assert "no Docker engine" in results["output"] and "steps 3, 9" in results["output"]
    assert len(tests) == sum(len(s.checks) for s in all_steps().values())
    # visibility: the hidden check and, before the due date, the after_due one keep their points, not their names
    hidden = [t for t in tests if t["visibility"] == "hidden"]
    later = [t for t in tests if t["visibility"] == "after_due_date"]
    assert hidden and later and all(t["output"] == "" and "hidden check" in t["name"] for t in hidden)
    assert all(t["output"] == "" and "after the due date" in t["name"] and t["score"] == t["max_score"] > 0
               for t in later)


@pytest.mark.integration
def test_a_one_mistake_submission_loses_exactly_its_checks_points(graded):
    roots, mutant, _, codes, _ = graded
    stdout = (roots["mutant"] / "results" / "stdout").read_text()
    assert codes["mutant"] == 0, stdout
    results = results_of(roots, "mutant")
    tests = valid(results)
    reference = results_of(roots, "reference")
    failed = [t for t in tests if t["status"] == "failed"]
    assert [t["name"].rsplit(" / ", 1)[-1] for t in failed] == sorted(mutant.loses), [t["name"] for t in failed]
    assert results["score"] == reference["score"] - sum(CHECKS[name].points for name in mutant.loses)
    lost = named(tests, next(iter(mutant.loses)))
    assert lost["score"] == 0 and "hint:" in lost["output"] and lost["visibility"] == "visible"
    # past the due date, the after_due check is shown with its name
    shown = [t for t in tests if t["visibility"] == "after_due_date"]
    assert shown and all("after the due date" not in t["name"] for t in shown)


@pytest.mark.integration
def test_nothing_is_left_running(graded):
    roots, _, _, _, scratch = graded

    def ours(entry: Path) -> bool:
        try:
            command = (entry / "cmdline").read_bytes()
            environment = (entry / "environ").read_bytes()
        except OSError:
            return False
        return any(str(root).encode() in command + environment for root in roots.values())

    wait_for(lambda: not any(ours(e) for e in Path("/proc").iterdir() if e.name.isdigit()), 10,
             what="every process of the autograder runs gone")
    assert not list(scratch.iterdir())  # no work folder, stand-in home or scratch folder of the runs is left


def test_a_submission_that_changes_the_graders_files_is_not_graded(tmp_path, monkeypatch):
    # given a grader whose files a submission rewrites while it is graded (where no namespace stops it)
    source = tmp_path / "source"
    (source / "checks").mkdir(parents=True)
    (source / "checks" / "step5_function.py").write_text("POINTS = 1\n")
    (tmp_path / "submission").mkdir()
    honest = {"status": "graded", "earned": 1, "possible": 1, "results": [], "lang": "en", "isolation": {}}

    def rewriting(submission, cap):
        (source / "checks" / "step5_function.py").write_text("POINTS = 100\n")
        return honest

    monkeypatch.setattr(autograder, "REPO_ROOT", source)
    monkeypatch.setattr(autograder, "grade", rewriting)
    # when results.json is made
    found = autograder.results(tmp_path, 60, datetime.now(UTC))
    # then it is no grade, and says so
    assert found["score"] == 0 and found["tests"] == [] and "NOT GRADED" in found["output"]
    # and an untouched grader gives the record's score (caches aside)
    monkeypatch.setattr(autograder, "grade", lambda submission, cap: (source / "checks" / "__pycache__").mkdir() or honest)
    assert autograder.results(tmp_path, 60, datetime.now(UTC))["score"] == 1.0


def test_the_code_folder_is_the_submission_or_its_one_folder_and_the_due_date_comes_from_the_metadata(tmp_path):
    # a zip of the student's folder unpacks as one folder; loose files are the folder itself
    (tmp_path / "zipped" / "exercises").mkdir(parents=True)
    (tmp_path / "zipped" / "exercises" / "train.py").write_text("")
    assert autograder.code_folder(tmp_path / "zipped") == tmp_path / "zipped" / "exercises"
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "Dockerfile").write_text("")
    (tmp_path / "loose" / "notes").mkdir()
    assert autograder.code_folder(tmp_path / "loose") == tmp_path / "loose"
    # Gradescope's due date, with its zone; none, or an unreadable one, is no due date
    due = autograder.due_date({"assignment": {"due_date": "2018-07-31T23:00:00.000000-07:00"}})
    assert due == datetime(2018, 8, 1, 6, 0, tzinfo=UTC)
    assert autograder.due_date({}) is None and autograder.due_date({"assignment": {"due_date": "soon"}}) is None
