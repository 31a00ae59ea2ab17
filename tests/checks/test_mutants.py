"""The mutation suite: every one-mistake submission loses exactly the points it should; hostile ones fool nothing.

Mistakes are graded with the grader's Python API in a pool of worker processes; hostile
submissions through the command line, as an instructor's batch loop runs it, each within
its time bound and leaving no process or temporary folder behind.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import mutation
import pytest

from checks.sandbox.container import docker_available
from checks.sandbox.reaper import SCRATCH_PREFIX
from lab_solution import train
from polling import wait_for

pytestmark = pytest.mark.integration

MUTANTS = mutation.mutants()
DOCKER = docker_available()
MISTAKES = [m for m in MUTANTS if m.kind == "mistake" and (DOCKER or not m.docker)]
HOSTILE = [m for m in MUTANTS if m.kind == "hostile"]
WORKERS = max(2, min(4, os.cpu_count() or 2))


@pytest.fixture(scope="module")
def reference_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference") / "model"
    train.train(folder)
    return folder


@pytest.fixture(scope="module")
def mistakes_graded(reference_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("mistakes")
    with ProcessPoolExecutor(WORKERS) as pool:
        futures = {m.name: pool.submit(mutation.grade_in_process, m, root / m.name, reference_model) for m in MISTAKES}
        return {name: future.result(timeout=600) for name, future in futures.items()}


def test_the_suite_has_at_least_30_mistakes_and_the_hostile_cases():
    assert len(MISTAKES) >= 30 and len(HOSTILE) >= 8
    assert all(m.loses for m in MISTAKES), [m.name for m in MISTAKES if not m.loses]


def test_the_reference_keeps_full_marks(reference_model, tmp_path):
    # given the reference solution graded the way instructors do
    graded = mutation.grade(mutation.SOLUTION, reference_model.parent, [1, 2], tmp_path / "grade.json")
    # then
    assert graded.returncode == 0 and graded.report["passed"], graded.stdout[-2000:]
    assert graded.report["earned"] == graded.report["possible"] > 0
    assert json.loads((tmp_path / "grade.json").read_text()) == graded.report


@pytest.mark.parametrize("mutant", MISTAKES, ids=[m.name for m in MISTAKES])
def test_a_mistake_loses_the_points_it_should(mutant, mistakes_graded):
    failed, possible, _ = mistakes_graded[mutant.name]
    assert possible > 0
    assert mutant.loses <= failed, f"{mutant.what}: should fail {sorted(mutant.loses - failed)}"
    assert failed <= mutant.loses | mutant.may_lose, f"{mutant.what}: also failed {sorted(failed - mutant.loses)}"


def test_every_failure_a_mistake_causes_reads_in_bengali(mistakes_graded):
    english_only = {f"{name}: {check}": message for name, (_, _, said) in mistakes_graded.items()
                    for check, message in said.items() if not re.search(r"[\u0980-\u09FF]", message)}
    assert not english_only, english_only


@pytest.fixture(scope="module")
def hostile_graded(reference_model, tmp_path_factory):
    """Every hostile submission graded at once through the command line (most of their time is waiting)."""
    root = tmp_path_factory.mktemp("hostile")

    def one(mutant):
        folder = root / mutant.name
        code = mutation.submission(mutant, folder)
        build_dir = mutation.build(mutant, code, folder, reference_model)
        return mutation.grade(code, build_dir, mutant.steps, folder / "grade.json", timeout=mutant.bound + 30)

    with ThreadPoolExecutor(4) as pool:
        graded = dict(zip([m.name for m in HOSTILE], pool.map(one, HOSTILE)))
    return graded, root


@pytest.mark.parametrize("mutant", HOSTILE, ids=[m.name for m in HOSTILE])
def test_a_hostile_submission_fools_nothing(mutant, hostile_graded):
    graded, root = hostile_graded
    graded, out = graded[mutant.name], root / mutant.name / "grade.json"
    # within its bound, with a report that is the grader's or no report at all
    assert graded.seconds < mutant.bound, f"{mutant.name} took {graded.seconds:.0f} s"
    if graded.returncode in (0, 1):
        assert graded.report is not None and json.loads(out.read_text()) == graded.report
        lost = sum(r["points"] for r in graded.report["results"] if r["name"] in mutant.loses)
        assert graded.report["earned"] == graded.report["possible"] - lost, graded.stdout[-3000:]
    else:  # the grader was killed: no report file may pretend otherwise
        assert not out.exists() and (graded.report is None or not graded.report.get("results"))


def test_hostile_submissions_leave_nothing_behind(hostile_graded):
    # no process, no planted file, no payload, no temporary folder
    wait_for(lambda: not mutation.sleepers(), 5, what="every process of the hostile submissions gone")
    planted = [mutation.REPO / "checks" / "step9_backdoor.py", mutation.SOLUTION / "hostile_was_here.py",
               mutation.REPO / "hostile-payload-ran", Path("/tmp/hostile-payload-ran")]
    found = [p for p in planted if p.exists()]
    for path in found:
        path.unlink()
    assert not found
    leaks = [p for root in ("/tmp", "/var/tmp", "/dev/shm") for p in Path(root).glob("lab-hostile-*")]
    assert not leaks


def test_a_killed_graders_scratch_is_removed_by_the_next_run(hostile_graded, reference_model, tmp_path):
    # given a grader was killed by the submission it graded (hostile_kills_grader), when the next run starts
    mutation.grade(mutation.SOLUTION, reference_model.parent, [1], tmp_path / "grade.json")
    # then no scratch folder of a dead grader is left
    stale = [p for p in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*")
             if not Path("/proc", p.name[len(SCRATCH_PREFIX):].split("-")[0]).exists()]
    assert not stale
