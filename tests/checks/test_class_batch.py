"""``python -m checks class``: a class graded end to end, each student's score the one their mistake deserves.

Code mode: the reference, the untouched exercises and one-mistake submissions of steps 1-3 (mutants/), from a
roster. Deploy mode: the reference, one-mistake submissions of three deployment steps (cloud_mutants/) and three
hostile ones (class_hostile/: one rewrites every other submission and grade it can find, one never returns, one
reaches for a server and a classmate's stand-in on 127.0.0.1 and reads other submissions' copies), each in a
private host-mode stand-in. Either way nothing is left running and no work folder is left behind.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import mutation
import pytest
from classes import Listener, by_name, grade_class, gradebook, nothing_left, records, roster

from checks.framework import all_steps
from checks.sandbox import confine
from localcloud import process

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent
CODE_MISTAKES = ("build_model_no_scaler", "labels_as_numbers", "metadata_wrong_n_test", "split_not_stratified",
                 "split_ignores_seed", "always_200", "client_errors_500", "model_per_request", "wrong_version",
                 "no_headers", "build_command_buildx_no_load")
DEPLOY_MISTAKES = ("ensure_repository_first_of_account", "deploy_typed_memory", "allow_invoke_adds_again")
POINTS = {c.name: c.points for step in all_steps().values() for c in step.checks}


def expected(possible: int, mutant: mutation.Mutant) -> int:
    return possible - sum(POINTS[name] for name in mutant.loses)


@pytest.fixture(scope="module")
def code_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("code-class")
    mutants = [by_name(mutation.MUTANTS)[name] for name in CODE_MISTAKES]
    path = roster(root, mutants, {"untouched": mutation.REPO / "exercises"})
    started = time.time()
    done = grade_class(path, root / "out", "code", "--jobs", "2", "--step-timeout", "30")
    return root, path, mutants, done, time.monotonic(), started


def test_a_class_in_code_mode_gives_every_student_the_score_of_their_mistake(code_class):
    root, _, mutants, done, _, started = code_class
    assert done.returncode == 0, done.stdout + done.stderr
    found = records(root / "out")
    assert len(found) == 13 and all(r["status"] == "graded" for r in found.values())
    reference = found["reference"]
    assert reference["earned"] == reference["possible"] > 0 and reference["mode"] == "code"
    scores = {ident: r["earned"] for ident, r in found.items()}
    wanted = {"reference": reference["possible"], "untouched": 0,
              **{m.name.replace("_", "-"): expected(reference["possible"], m) for m in mutants}}
    assert scores == wanted and gradebook(root / "out") == wanted
    assert {r["possible"] for r in found.values()} == {reference["possible"]}  # one denominator
    assert all(r["seed"] is not None and r["submission_hash"].startswith("sha256:") and r["driven"]["train"]
               .startswith("ok") for ident, r in found.items() if ident != "untouched")
    nothing_left(root / "out")


def test_a_second_run_reuses_every_unchanged_grade_and_a_changed_submission_is_regraded_with_history(code_class):
    root, path, _, _, _, _ = code_class
    out = root / "out"
    before = records(out)
    # when nothing changed
    again = grade_class(path, out, "code", "--jobs", "2")
    assert again.returncode == 0 and "graded 0, reused 13 unchanged" in again.stdout, again.stdout + again.stderr
    assert records(out) == before
    # when one student fixes their mistake, and one regrade is forced
    fixed = root / "split_not_stratified" / "code"
    shutil.copy(mutation.SOLUTION / "train.py", fixed / "train.py")
    third = grade_class(path, out, "code", "--jobs", "2", "--only", "split-not-stratified", "always-200", "--force")
    assert third.returncode == 0, third.stdout + third.stderr
    now = records(out)
    fixed_line = (f"split-not-stratified: {before['split-not-stratified']['earned']}/{now['reference']['possible']}"
                  f" -> {now['reference']['possible']}/{now['reference']['possible']}")
    assert "graded 2, reused 0" in third.stdout and fixed_line in third.stdout.split("changed since the last grading")[1]
    assert now["split-not-stratified"]["earned"] == now["split-not-stratified"]["possible"]
    assert now["always-200"]["seed"] == before["always-200"]["seed"]  # a regrade asks the same questions
    assert [p.name for p in (out / "history").iterdir()] and len(list((out / "history").glob("*/*.json"))) == 2


@pytest.fixture(scope="module")
def deploy_class(tmp_path_factory):
    if not confine.confinable():
        pytest.skip("the sandbox cannot confine a process here: a hostile submission would not be contained")
    root = tmp_path_factory.mktemp("deploy-class")
    mutants = [by_name(HERE / "cloud_mutants")[name] for name in DEPLOY_MISTAKES]
    hostile = list(by_name(HERE / "class_hostile").values())
    path = roster(root, [*mutants, *hostile], {})
    started = time.time()
    with Listener() as server, process.running(mode="host") as classmate:
        classmate.client("ecr").create_repository(repositoryName="classmate")
        (root / "reaches_out" / "code" / "targets.py").write_text(
            f"SERVER = {server.port}\nSTANDIN = {classmate.port}\nREPOSITORY = 'classmate'\n")
        done = grade_class(path, root / "out", "deploy", "--jobs", "3", "--step-timeout", "60", "--cap", "400",
                           timeout=900)
        reached = {"server": list(server.heard),
                   "classmate": [r["repositoryName"] for r in classmate.client("ecr").describe_repositories()
                                 ["repositories"]]}
    return root, mutants, hostile, done, started, reached


def test_a_class_in_deploy_mode_grades_each_deployment_in_its_own_stand_in(deploy_class):
    root, mutants, _, done, started, _ = deploy_class
    assert done.returncode == 0, done.stdout + done.stderr
    found = records(root / "out")
    reference = found["reference"]
    assert reference["earned"] == reference["possible"] > 0, [r["name"] for r in reference["results"] if not r["passed"]]
    assert all(r["driven"][op].startswith("ok") for op in ("train", "publish", "function", "gateway", "latency",
                                                           "cleanup") for r in [reference])
    assert len(reference["latency"]["cold_ms"]) == 3 and len(reference["latency"]["warm_ms"]) == 27
    for mutant in mutants:
        record = found[mutant.name.replace("_", "-")]
        lost = {r["name"] for r in record["results"] if not r["passed"] and not r["skipped"]}
        assert lost == mutant.loses, mutant.name
    assert gradebook(root / "out") == {ident: r["earned"] for ident, r in found.items()}
    assert gradebook(root / "out")["reference"] == reference["possible"]
    nothing_left(root / "out")


def test_a_hostile_submission_changes_no_one_elses_grade_and_a_hanging_one_gets_its_honest_partial_score(
        deploy_class):
    root, _, _, done, _, _ = deploy_class
    found = records(root / "out")
    writer, hanging = found["writes-other-submissions"], found["never-returns"]
    assert writer["earned"] == writer["possible"] == found["reference"]["possible"]  # its writes went nowhere
    assert (mutation.SOLUTION / "app.py").read_text().startswith('"""')
    assert hanging["status"] == "graded" and hanging["possible"] == found["reference"]["possible"]
    assert hanging["driven"]["function"].startswith("error: timed out")
    lost_steps = {r["step"] for r in hanging["results"] if not r["passed"] and not r["skipped"]}
    assert lost_steps == {5, 6, 7}, lost_steps


def test_a_submission_reaches_only_its_own_stand_in_and_reads_no_classmate_while_its_own_deployment_works(
        deploy_class):
    root, _, _, _, _, reached = deploy_class
    found = records(root / "out")
    hostile = found["reaches-out"]
    # its deployment code ran, in every notebook step, and got nowhere else: full marks, no error
    assert all(hostile["driven"][op].startswith("ok") for op in ("publish", "function", "gateway", "latency",
                                                                 "cleanup")), hostile["driven"]
    assert hostile["earned"] == hostile["possible"] == found["reference"]["possible"], [
        (r["name"], r["message"]) for r in hostile["results"] if not r["passed"] and not r["skipped"]]
    # the server on 127.0.0.1 heard nothing, the classmate's stand-in still has its repository and no other
    assert reached == {"server": [], "classmate": ["classmate"]}
    # and the other students' scores are the ones their code deserves
    assert found["reference"]["earned"] == found["reference"]["possible"]


def test_a_submission_past_its_cap_is_not_graded_and_says_so_and_the_others_are_kept_meanwhile(tmp_path):
    # given a class whose cap is shorter than its first submission's training (the reference, made to take a
    # minute), and the reference after it
    (tmp_path / "class").mkdir()
    slow = tmp_path / "class" / "capped-reference"
    for folder in (slow, tmp_path / "class" / "reference"):
        shutil.copytree(mutation.SOLUTION, folder, ignore=shutil.ignore_patterns("__pycache__"))
    with (slow / "train.py").open("a") as train:
        train.write("\n\n_train = train\n\n\ndef train(*args, **kwargs):\n    import time\n\n    time.sleep(60)\n"
                    "    return _train(*args, **kwargs)\n")
    # when it is graded, two at a time
    done = grade_class(tmp_path / "class", tmp_path / "out", "code", "--cap", "30", "--jobs", "2", timeout=240)
    # then the row says NOT GRADED and why, the status says some were not graded, and nothing is left
    assert done.returncode == 1, done.stdout + done.stderr
    found = records(tmp_path / "out")
    assert found["capped-reference"]["status"] == "not_graded"
    assert found["capped-reference"]["reason"].startswith("NOT GRADED: ran past its 30 s cap")
    assert "capped-reference: NOT GRADED: ran past its 30 s cap" in done.stdout
    # and the reference's grade was kept as soon as it was graded, not after the one before it ended
    written = {ident: (tmp_path / "out" / "students" / ident / "grade.json").stat().st_mtime for ident in found}
    assert found["reference"]["earned"] == found["reference"]["possible"]
    assert written["reference"] < written["capped-reference"] - 5, written
    nothing_left(tmp_path / "out")
