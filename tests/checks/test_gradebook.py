"""The class outputs (checks.gradebook) from real grading reports: the reference and two one-mistake submissions
graded offline (steps 1-3) by ``python -m checks --json``, plus a NOT GRADED record and deploy-mode records with
latency made from them. Each writer's file is read back as its consumer reads it: Gradescope's fields, csv,
xml.etree, the report's sections."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mutation import REPO, SOLUTION, mutants, submission

from checks import gradebook
from checks.gradebook import feedback, gradescope, junit

pytestmark = pytest.mark.integration  # spawns the grader three times (one session fixture, ~30 s on 2 cores)

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
DUE = NOW + timedelta(days=2)
STUDENTS = {"ref": None, "strat": "split_not_stratified", "hdrs": "no_headers"}  # id -> mutant (None: lab_solution)
EXPECTED = {"ref": 33, "strat": 31, "hdrs": 31}  # of 33: step 3's four image checks skip without Docker (LAB_DOCKER=off)
HIDDEN, AFTER_DUE = "2.no_secrets", "2.values"
GRADESCOPE_VISIBILITY = {"visible", "hidden", "after_due_date", "after_published"}


def record(student: str, report: dict, **changes) -> dict:
    """A batch record around a real ``--json`` report."""
    made = {**copy.deepcopy(report), "student": {"id": student, "name": f"ছাত্রী {student}", "email": f"{student}@example.org"},
            "status": "graded", "reason": None, "mode": "code", "seed": 1234, "grader_version": "test-1",
            "submission_hash": "sha256:" + "0" * 64, "source": {"kind": "folder", "path": f"class/{student}",
                                                                "commit": None, "submitted_at": None},
            "step_seconds": {"1": 2.0, "2": 3.5, "3": 0.5}, "latency": None, "graded_at": "2026-12-06T07:30:00+00:00"}
    made.update(changes)
    return made


@pytest.fixture(scope="session")
def reports(tmp_path_factory, model_dir) -> dict[str, dict]:
    """The three submissions graded once per session, in parallel, as the batch would run the grader."""
    folder = tmp_path_factory.mktemp("graded")
    found = {m.name: m for m in mutants()}

    def graded(student: str) -> dict:
        mutant = found.get(STUDENTS[student])
        home = folder / student
        home.mkdir()
        code = SOLUTION if mutant is None else submission(mutant, home)
        shutil.copytree(model_dir, home / "build" / "model")
        if mutant is not None and mutant.model == "own":  # the mistake is in train(): the model comes from it
            script = ("import sys; from pathlib import Path; from labkit.loader import import_from_folder; "
                      "import_from_folder(Path(sys.argv[1]), 'train').train(Path(sys.argv[2]))")
            subprocess.run([sys.executable, "-c", script, str(code), str(home / "build" / "model")], check=True,
                           capture_output=True, timeout=120, cwd=home)
        command = [sys.executable, "-m", "checks", "1", "2", "3", "--code", str(code), "--build-dir", str(home / "build"),
                   "--json", "--sandbox", "process", "--step-timeout", "90"]  # generous: a loaded machine is no mistake
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
        assert done.returncode in (0, 1), done.stderr[-2000:]
        return json.loads(done.stdout)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAB_DOCKER", "off")  # step 3's image checks skip alike for everyone: fast, and no engine needed
        with ThreadPoolExecutor(len(STUDENTS)) as pool:
            return dict(zip(STUDENTS, pool.map(graded, STUDENTS)))


@pytest.fixture(scope="session")
def klass(reports) -> list[dict]:
    """A code-mode class: three graded students and one whose submission never finished."""
    not_graded = record("late", {key: value for key, value in reports["ref"].items() if key != "results"},
                        status="not_graded", reason="no answer within the wall-clock cap of 300 s", results=[])
    return [record(s, reports[s]) for s in STUDENTS] + [not_graded]


@pytest.fixture(scope="session")
def deployed(reports) -> list[dict]:
    """A deploy-mode class of two, with measured latencies."""
    return [record(s, reports[s], mode="deploy", latency={"cold_ms": [1310.5, 1422.0 + i], "warm_ms": [3.1, 2.8, 4.4]},
                   step_seconds={str(n): 1.5 + n for n in range(1, 10)}) for i, s in enumerate(("ref", "hdrs"))]


@pytest.fixture(scope="session")
def written(klass, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("class") / "out"
    gradebook.write_class(out, klass, due=DUE, now=NOW)
    return out


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_the_reports_come_from_the_grader_and_carry_each_checks_visibility(reports):
    failed = {s: [(r["id"], r["message"]) for r in report["results"] if not r["passed"] and not r["skipped"]]
              for s, report in reports.items()}
    assert {s: r["earned"] for s, r in reports.items()} == EXPECTED, failed
    assert {r["possible"] for r in reports.values()} == {33}
    seen = {r["id"]: r["visibility"] for r in reports["ref"]["results"]}
    assert seen[HIDDEN] == "hidden" and seen[AFTER_DUE] == "after_due"
    assert set(seen.values()) == {"visible", "hidden", "after_due"}


def test_a_check_cannot_declare_an_unknown_visibility():
    from checks.framework import Step

    step = Step(99, "t", "n.ipynb")
    with pytest.raises(ValueError, match="visibility"):
        step.check("x", points=1, hint="h", visibility="secret")(lambda run: None)


def test_results_json_has_gradescopes_fields_and_sums_to_the_score(written, klass):
    for student in STUDENTS:
        results = json.loads((written / "students" / student / "results.json").read_text(encoding="utf-8"))
        assert isinstance(results["score"], float) and isinstance(results["execution_time"], int)
        assert isinstance(results["output"], str) and results["visibility"] in GRADESCOPE_VISIBILITY
        assert results["score"] == EXPECTED[student] == sum(t["score"] for t in results["tests"])
        assert len(results["tests"]) == len(klass[0]["results"])
        for test in results["tests"]:
            assert set(test) >= {"score", "max_score", "status", "name", "number", "output", "visibility"}
            assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
            assert test["status"] in ("passed", "failed") and test["visibility"] in GRADESCOPE_VISIBILITY
            assert re.fullmatch(r"[1-9]\.\d+", test["number"]) and isinstance(test["output"], str)
            assert (test["status"] == "failed") == (test["score"] < test["max_score"])
    failed = [t for t in json.loads((written / "students/hdrs/results.json").read_text())["tests"] if t["status"] == "failed"]
    assert [t["number"] for t in failed] == ["2.7", "2.8"] and all("hint: " in t["output"] for t in failed)
    skipped = [t for t in json.loads((written / "students/ref/results.json").read_text())["tests"] if t.get("tags")]
    assert len(skipped) == 4 and all(t["max_score"] == 0 and t["status"] == "passed" for t in skipped)


def test_hidden_and_not_yet_due_checks_count_but_are_not_named_to_students(klass, written):
    names = {r["id"]: r["name"] for r in klass[0]["results"]}
    for student in STUDENTS:
        page = (written / "students" / student / "results.json").read_text(encoding="utf-8")
        html = (written / "students" / student / "feedback.html").read_text(encoding="utf-8")
        for check in (HIDDEN, AFTER_DUE):
            assert names[check] not in page and names[check] not in html
        tests = {t["number"]: t for t in json.loads(page)["tests"]}
        assert tests["2.10"]["visibility"] == "hidden" and tests["2.10"]["output"] == "" and tests["2.10"]["max_score"] == 1
        assert tests["2.6"]["visibility"] == "after_due_date" and tests["2.6"]["max_score"] == 2
    after = gradescope.results_json(klass[0], due=DUE, now=DUE + timedelta(seconds=1))
    shown = {t["number"]: t for t in after["tests"]}
    assert names[AFTER_DUE] in shown["2.6"]["name"] and names[HIDDEN] not in shown["2.10"]["name"]
    assert names[AFTER_DUE] in feedback.feedback_html(klass[0], due=DUE, now=DUE + timedelta(seconds=1))
    assert names[HIDDEN] in (written / "report.html").read_text(encoding="utf-8")  # the instructor sees everything


def test_the_feedback_page_is_bengali_first_with_the_students_own_latency_plot(written, deployed):
    page = (written / "students/hdrs/feedback.html").read_text(encoding="utf-8")
    assert page.index('<section lang="bn">') < page.index('<section lang="en">')
    assert "মোট: 31/33" in page and "Total: 31/33" in page and "<svg" not in page
    assert "X-Cold-Start" in page and "hint:" in page and "ইঙ্গিত:" in page
    with_latency = feedback.feedback_html(deployed[0], due=None, now=NOW)
    assert with_latency.count("<svg") == 1 and "cold (n=2)" in with_latency and "http" not in with_latency.split("<svg")[0]
    late = (written / "students/late/feedback.html").read_text(encoding="utf-8")
    assert "no answer within the wall-clock cap" in late and "GRADE করা হয়নি" in late and "/33" not in late


def test_grades_csv_has_otters_final_grades_shape(written, klass):
    table = rows(written / "grades.csv")
    checks = [r["id"] for r in klass[0]["results"]]
    assert table[0] == ["file", *checks, "total_points_earned", "percent_correct", "grading_status"]
    assert table[1][0] == "points-per-question" and table[1][-3:] == ["33", "1", "--"]
    assert sum(int(v) for v in table[1][1:-3]) == 33
    by_id = {row[0]: row for row in table[2:]}
    assert set(by_id) == {*STUDENTS, "late"}
    for student, points in EXPECTED.items():
        assert int(by_id[student][-3]) == points == sum(int(v) for v in by_id[student][1:-3])
        assert float(by_id[student][-2]) == round(points / 33, 4) and by_id[student][-1] == "Completed"
    assert by_id["late"][1:-1] == [""] * (len(checks) + 2) and by_id["late"][-1].startswith("NOT GRADED: no answer")


def test_the_lms_files_give_every_student_the_same_denominator_and_not_graded_no_score(written):
    canvas = rows(written / "canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Serverless AI lab"]
    assert canvas[1] == ["    Points Possible", "", "", "", "", "33"]
    scores = {row[2]: row[5] for row in canvas[2:]}
    assert scores == {**{s: str(p) for s, p in EXPECTED.items()}, "late": ""}
    assert all(row[3] == f"{row[2]}@example.org" for row in canvas[2:])
    moodle = rows(written / "moodle.csv")
    assert moodle[0] == ["Email address", "Serverless AI lab"]
    assert dict(moodle[1:]) == {**{f"{s}@example.org": str(p) for s, p in EXPECTED.items()}, "late@example.org": "-"}


def check_common_schema(root: ET.Element) -> None:
    """The JUnit schema CI tools read (Jenkins' junit-10.xsd): element order, attributes and their types."""
    assert root.tag == "testsuites" and set(root.attrib) <= {"name", "time", "tests", "failures", "errors"}
    for suite in root:
        assert suite.tag == "testsuite"
        for key in ("name", "tests", "failures", "errors", "skipped", "time", "timestamp", "hostname", "id", "package"):
            assert suite.get(key), key
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", suite.get("timestamp"))
        float(suite.get("time"))
        tags = [child.tag for child in suite]
        assert tags == ["properties", *["testcase"] * (len(tags) - 3), "system-out", "system-err"]
        for case in suite.iter("testcase"):
            assert set(case.attrib) <= {"name", "time", "classname", "group"}
            assert case.get("name") and case.get("classname") and float(case.get("time")) >= 0
            assert len(case) <= 1 and all(c.tag in ("failure", "error", "skipped") for c in case)
            assert all(c.get("message") is not None for c in case)


def test_junit_xml_has_a_suite_per_student_and_a_case_per_check(written, klass):
    root = ET.parse(written / "junit.xml").getroot()
    check_common_schema(root)
    suites = {s.get("name"): s for s in root}
    assert set(suites) == {*STUDENTS, "late"}
    n = len(klass[0]["results"])
    counts = {name: tuple(int(s.get(k)) for k in ("tests", "failures", "errors", "skipped")) for name, s in suites.items()}
    assert counts == {"ref": (n, 0, 0, 4), "strat": (n, 1, 0, 4), "hdrs": (n, 2, 0, 4), "late": (1, 0, 1, 0)}
    for key in ("tests", "failures", "errors"):
        assert int(root.get(key)) == sum(int(s.get(key)) for s in root)
    for suite in suites.values():  # the counts are the elements', not only the attributes'
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped"))
        assert int(suite.get("errors")) == len(suite.findall("testcase/error"))
    assert suites["late"].find("testcase/error").get("message").startswith("NOT GRADED")


def test_junit_command_turns_one_report_into_xml(reports, tmp_path):
    (tmp_path / "report.json").write_text(json.dumps(reports["hdrs"]))
    done = subprocess.run([sys.executable, "-m", "checks.gradebook.junit", "report.json", "out.xml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    root = ET.parse(tmp_path / "out.xml").getroot()
    check_common_schema(root)
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (str(len(reports["hdrs"]["results"])), "2", "4")
    assert junit.main(["missing.json", "x.xml"]) == 2


def test_the_class_report_has_every_section_and_is_self_contained(written, deployed, tmp_path):
    page = (written / "report.html").read_text(encoding="utf-8")
    for section in ("environment", "scores", "checks", "todos", "failures", "latency", "steps", "not-graded", "students"):
        assert f'<section id="{section}"' in page, section
    assert "no answer within the wall-clock cap of 300 s" in page
    assert "exercises/app.py handler()" in page and "exercises/train.py split()" in page  # per TODO
    assert "split() holds out test_size" in page and "2/3 (67%)" in page  # the stratify mistake: 2 of 3 pass
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page) and "<link" not in page
    gradebook.write_class(tmp_path / "deploy", deployed, due=None, now=NOW)
    deploy_page = (tmp_path / "deploy" / "report.html").read_text(encoding="utf-8")
    assert deploy_page.count("<svg") == 3 and "step 9" in deploy_page  # scores, latency, time per step


def test_a_measurement_that_ran_beside_the_class_is_named_and_left_out_of_the_class_latency(deployed, tmp_path):
    beside = [deployed[0], {**deployed[1], "past_lease": [7], "latency": {"cold_ms": [99999.0], "warm_ms": [88888.0]}}]
    gradebook.write_class(tmp_path / "out", beside, due=None, now=NOW)
    section = (tmp_path / "out" / "report.html").read_text(encoding="utf-8").split('<section id="latency"')[1]
    section = section.split("</section>")[0]
    assert "Left out: hdrs" in section and "99,999" not in section and "88,888" not in section
    assert [row[1] for row in re.findall(r"<tr><td>(cold|warm)</td><td>(\d+)</td>", section)] == ["1", "1"]


@pytest.mark.parametrize("change", ["sandbox", "skips"])
def test_a_class_graded_in_different_environments_is_refused_not_scored(klass, tmp_path, change):
    mixed = copy.deepcopy(klass)
    if change == "sandbox":
        mixed[1]["isolation"] = {**mixed[1]["isolation"], "2": "docker"}
    else:
        mixed[1]["results"][0]["skipped"], mixed[1]["possible"] = True, 31
    out = tmp_path / "out"
    gradebook.write_class(out, klass, due=DUE, now=NOW)
    (out / "students" / "ref" / "grade.json").write_text("{}")  # the batch's own file
    with pytest.raises(gradebook.EnvironmentProblem, match="sandbox of step 2 differ" if change == "sandbox" else "skipped checks"):
        gradebook.write_class(out, mixed, due=DUE, now=NOW)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "report.html", "students/ref/grade.json"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Environment problem" in page and "strat" in page and "No gradebook" in page


def test_a_step_whose_code_never_ran_for_one_student_is_no_environment_problem(klass, tmp_path):
    # given a student whose later steps never ran (stopped early, or past the cap): no sandbox recorded for them
    partial = copy.deepcopy(klass)
    partial[1]["isolation"] = {k: v for k, v in partial[1]["isolation"].items() if k == "1"}
    # when the class is written, then it is written: a missing record differs from nothing
    gradebook.write_class(tmp_path / "out", partial, due=DUE, now=NOW)
    assert (tmp_path / "out" / "grades.csv").is_file()


def test_a_writer_that_fails_leaves_the_previous_set_and_keeps_the_batchs_files(klass, tmp_path, monkeypatch):
    out = tmp_path / "out"
    gradebook.write_class(out, klass, due=DUE, now=NOW)
    (out / "students" / "ref" / "grade.json").write_text('{"kept": true}')
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(records):
        raise RuntimeError("disk full")

    monkeypatch.setattr(junit, "junit_xml", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        gradebook.write_class(out, klass[:2], due=DUE, now=NOW)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left
    monkeypatch.undo()
    gradebook.write_class(out, klass[:2], due=DUE, now=NOW)  # a smaller class: the others' files go, grade.json stays
    assert (out / "students/ref/grade.json").read_text() == '{"kept": true}'
    assert not (out / "students/hdrs").exists() and (out / "students/strat/results.json").exists()


def test_ids_must_be_distinct_and_safe_as_folder_names_and_the_times_comparable(klass, tmp_path):
    for bad in ("../x", ".hidden", "a/b", ""):
        with pytest.raises(ValueError, match="folder name"):
            gradebook.write_class(tmp_path / "o", [record(bad, klass[0])], due=None, now=NOW)
    with pytest.raises(ValueError, match="twice"):
        gradebook.write_class(tmp_path / "o", [klass[0], klass[0]], due=None, now=NOW)
    with pytest.raises(ValueError, match="time zone"):
        gradebook.write_class(tmp_path / "o", klass, due=DUE.replace(tzinfo=None), now=NOW)
    assert not (tmp_path / "o").exists()


def test_the_job_summary_has_a_row_per_step_and_the_failed_checks(reports):
    from checks.gradebook import summary

    table = summary.markdown(reports["hdrs"])
    assert "### Grade: 31/33 points" in table
    assert re.search(r"^\| 2 \| Write the Lambda handler .*\| 15/17 \| 9 \| 2 \| 0 \|$", table, re.M)
    assert re.search(r"^\| 3 \| .*\| 3/3 \| 3 \| 0 \| 4 \|$", table, re.M)
    assert "**2.7 every answer is JSON" in table and "hint: app.py handler()" in table


def test_where_folders_cannot_be_exchanged_two_renames_replace_the_set(klass, tmp_path, monkeypatch):
    from checks.gradebook import publish

    out = tmp_path / "out"
    gradebook.write_class(out, klass, due=DUE, now=NOW)
    monkeypatch.setattr(publish, "exchange", lambda a, b: False)
    gradebook.write_class(out, klass[:1], due=DUE, now=NOW)
    assert sorted(p.name for p in (out / "students").iterdir()) == ["ref"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
