"""The per-student record: when it is reused, how a regrade keeps the old one and says who changed, and fairness."""

from __future__ import annotations

import json

from checks.classroom import batch, record
from checks.classroom.sources import Submission


def graded(ident: str, earned: int = 10, possible: int = 10, failed: tuple[str, ...] = (), **extra) -> dict:
    results = [{"id": f"1.{name}", "name": name, "passed": name not in failed, "skipped": False} for name in
               ("a", "b", "c")]
    return {"student": {"id": ident, "name": "", "email": ""}, "status": "graded", "reason": None, "earned": earned,
            "possible": possible, "results": results, "isolation": {"1": "process, user 123, no network"},
            "submission_hash": "sha256:1", "grader_version": "v1", "mode": "code",
            "environment": {"docker": "off", "isolation": "process"}, "graded_at": "2026-12-06T08:00:00+00:00",
            **extra}


def test_a_record_is_reused_only_for_the_same_code_grader_mode_and_environment():
    base = graded("a")
    assert record.key(base) == record.key({**graded("a"), "earned": 3})
    for change in ({"submission_hash": "sha256:2"}, {"grader_version": "v2"}, {"mode": "deploy"},
                   {"environment": {"docker": "auto", "isolation": "process"}}):
        assert record.key(base) != record.key({**base, **change}), change


def test_an_unchanged_submission_is_not_graded_again_but_a_forced_one_is_with_its_old_seed(tmp_path):
    folder = tmp_path / "src" / "a"
    folder.mkdir(parents=True)
    (folder / "app.py").write_text("x = 1\n")
    options = batch.Options(tmp_path / "out", docker="off", isolation="process")
    work = tmp_path / "work"
    job = batch.prepare(Submission("a", path=str(folder)), options, work, "v1")
    assert "base" in job
    record.write(record.path(options.out, "a"), {**job["base"], **graded("a"), "submission_hash":
                                                  job["base"]["submission_hash"], "grader_version": "v1"})
    again = batch.prepare(Submission("a", path=str(folder)), options, tmp_path / "work2", "v1")
    assert again.get("reused") and again["student"]["id"] == "a"
    options.force = True
    forced = batch.prepare(Submission("a", path=str(folder)), options, tmp_path / "work3", "v1")
    assert forced["seed"] == job["seed"] and "base" in forced
    newer = batch.prepare(Submission("a", path=str(folder)), batch.Options(tmp_path / "out", docker="off",
                                                                          isolation="process"), tmp_path / "w4", "v2")
    assert "base" in newer  # a new grader grades again


def test_a_regrade_keeps_the_earlier_record_and_names_who_changed(tmp_path):
    outcome = batch.Outcome()
    batch.store(tmp_path, graded("a", 10, 10), outcome)
    batch.store(tmp_path, graded("b", 7, 10, ("b",)), outcome)
    assert batch.changed(tmp_path, outcome.replaced) == []
    later = {**graded("a", 7, 10, ("c",)), "graded_at": "2026-12-06T09:00:00+00:00"}
    batch.store(tmp_path, later, outcome)
    batch.store(tmp_path, {**graded("b", 7, 10, ("b",)), "graded_at": "2026-12-06T09:00:00+00:00"}, outcome)
    assert batch.changed(tmp_path, outcome.replaced) == ["a: 10/10 -> 7/10 (-1.c)"]
    assert json.loads(record.path(tmp_path, "a").read_text())["earned"] == 7
    [kept] = (tmp_path / "history" / "a").iterdir()
    assert json.loads(kept.read_text())["earned"] == 10


def test_a_not_graded_record_has_no_score_and_says_why():
    found = record.not_graded({"student": {"id": "a"}, "mode": "code"}, "NOT GRADED: ran past its 300 s cap")
    assert found["status"] == "not_graded" and found["earned"] == found["possible"] == 0 and found["results"] == []
    assert record.score(found) == "NOT GRADED"


def test_a_class_graded_in_one_environment_has_no_problem_whatever_the_sandboxs_user_ids():
    records = [graded("a"), {**graded("b", 3), "isolation": {"1": "process, user 999, no network"}}]
    assert batch.environment_problems(records) == []


def test_mixed_denominators_sandboxes_or_skips_are_an_environment_problem_not_a_score():
    records = [graded(i) for i in "abcd"]
    records[1] = {**records[1], "possible": 8}
    records[2] = {**records[2], "isolation": {"1": "docker"}}
    records[3]["results"][0]["skipped"] = True
    problems = batch.environment_problems(records)
    assert [p.split(" across")[0] for p in problems] == ["mixed denominator", "mixed sandbox", "mixed skipped checks"]
    assert "b (8)" in problems[0] and "c (docker)" in problems[1] and "d (1.a)" in problems[2]
    not_graded = record.not_graded({"student": {"id": "e"}}, "NOT GRADED: x")
    assert len(batch.environment_problems([*records[:1], not_graded])) == 0


def test_a_check_skipped_for_one_student_is_skipped_for_the_whole_class(tmp_path):
    # given a check that cannot run here (skipped for a), which b failed before it could tell (an open TODO)
    a, b = graded("a", 7, 7), graded("b", 0, 10, ("a", "b", "c"))
    a["results"] = [{**x, "skipped": x["name"] == "c", "earned": 0 if x["name"] == "c" else 3 + (x["name"] == "a"),
                     "possible": 0 if x["name"] == "c" else 3 + (x["name"] == "a"), "message": "no Docker engine"}
                    for x in a["results"]]
    b["results"] = [{**x, "earned": 0, "possible": 3 + (x["name"] == "a") + 3 * (x["name"] == "c"), "message": "TODO"}
                    for x in b["results"]]
    # when the class is aligned
    aligned = {r["student"]["id"]: r for r in batch.align([a, b], tmp_path)}
    # then both have the same denominator, and b's record on disk says why c does not count
    assert aligned["a"] is a and (aligned["b"]["earned"], aligned["b"]["possible"]) == (0, 7)
    assert json.loads(record.path(tmp_path, "b").read_text())["results"][2]["message"] == "no Docker engine"
    assert batch.environment_problems(list(aligned.values())) == []


def test_a_fault_of_the_grader_is_reported_as_the_graders_never_as_a_zero(tmp_path):
    from checks.classroom import worker

    # given a job the grader cannot carry out (its copy of the submission is gone)
    base = {"student": {"id": "a", "name": "", "email": ""}, "mode": "code", "seed": 1}
    job = {"seed": 1, "work": str(tmp_path), "locks": str(tmp_path / "locks"), "wait_file": str(tmp_path / "waited"),
           "cap": 60, "mode": "code", "docker": "off", "name": "lab-x", "lang": "en", "code": str(tmp_path / "gone"),
           "isolation": "process", "out": str(tmp_path / "record.json"), "base": base}
    (tmp_path / "job.json").write_text(json.dumps(job))
    # when its worker runs
    assert worker.main([str(tmp_path / "job.json")]) == 0
    # then the record says the grader failed, and where
    found = json.loads((tmp_path / "record.json").read_text())
    assert found["status"] == "not_graded" and found["reason"].startswith("grader fault: ConfigError: LAB_CODE=")
    assert found["earned"] == found["possible"] == 0 and found["student"]["id"] == "a"


def test_killing_a_worker_kills_everything_below_it_even_what_left_its_session(tmp_path):
    import subprocess
    import time

    script = "sleep 300 & setsid sleep 301 & sh -c 'sleep 302 & wait' & wait"
    root = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    time.sleep(0.5)
    below = [pid for pid, parent in batch._table().items() if parent == root.pid]
    assert len(below) >= 3
    batch.kill_tree(root.pid)
    root.wait(5)
    assert not [pid for pid in below if pid in batch._table()]


def test_a_seed_makes_a_steps_cases_reproducible_and_without_one_they_are_fresh():
    from checks import cases

    try:
        cases.use_seed(1234)
        assert cases.draw(1).random() == cases.draw(1).random() != cases.draw(2).random()
        first = cases.draw_flowers(cases.draw(1), 5)
        assert cases.draw_flowers(cases.draw(1), 5) == first
    finally:
        cases.use_seed(None)
    assert cases.draw(1).random() != cases.draw(1).random()
