"""The sandbox and the channel: forged, oversized or half-written observations are refused; a hang costs one timeout."""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import random
import subprocess
import sys
import time

import mutation
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import import_graph
from checks import Context, cases, run_steps
from checks.framework import Plan, Step, todo_id, todo_label
from checks.report import Report, Result
from checks.runner import observe, reported_todos
from checks.sandbox import channel, container, questions, spawn
from checks.sandbox.questions import Question
from lab_solution import train
from labkit import config, serving

CHILD = """
import json, os, sys
folder, behaviour = sys.argv[1], sys.argv[2]
ask = open(os.path.join(folder, "ask"), "rb")
answer = os.open(os.path.join(folder, "answer"), os.O_WRONLY)
out = os.open(os.path.join(folder, "stdout"), os.O_WRONLY)
if behaviour == "early":
    os.write(answer, b'{"id": "guess", "answer": 1}\\n')
for line in ask:
    question = json.loads(line)
    os.write(out, ("printed while answering " + question["op"]).encode())
    reply = (json.dumps({"id": question["id"], "answer": {"value": question["args"]}}) + "\\n").encode()
    if behaviour == "twice":
        reply += reply
    elif behaviour == "wrong id":
        reply = reply.replace(question["id"].encode(), b"0" * 16)
    elif behaviour == "not json":
        reply = b"pass\\n"
    elif behaviour == "verdict":
        reply = (json.dumps({"id": question["id"], "answer": 1, "verdict": "pass"}) + "\\n").encode()
    os.write(answer, reply)
    if behaviour == "twice":
        import time; time.sleep(0.3)
"""


def conversation(tmp_path, behaviour: str, asked: int = 3) -> channel.Outcome:
    """A child that answers the grader's questions (``behaviour`` says how) over the real FIFOs."""
    folder = channel.make_fifos(tmp_path / "channel", None)

    def driver():
        for number in range(asked):
            yield Question(f"q/{number}", f"op{number}", number, output=True)

    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), behaviour])
    try:
        return channel.converse(folder, child, 20, driver())
    finally:
        child.kill()
        child.wait()
def test_the_child_and_the_grader_side_of_the_sandbox_share_only_the_protocol():
    edges = import_graph.graph()
    child = {m for m in edges if m.startswith("checks.probes")}
    grader_side = {m for m in edges if m.startswith("checks.sandbox.")} - {"checks.sandbox.protocol"}
    assert {i for m in child for i in edges[m] if i.startswith("checks")} - child == {"checks.sandbox.protocol"}
    assert not {i for m in grader_side for i in edges[m]} & child
    assert not {i for i in edges["checks.sandbox.protocol"] | edges["checks.sandbox"] if i.startswith("checks")}


def test_each_answer_becomes_the_record_the_grader_keyed_with_what_was_printed_meanwhile(tmp_path):
    outcome = conversation(tmp_path, "honest")
    assert outcome.finished and not outcome.tampered and not outcome.problem
    assert outcome.records == {f"q/{n}": {"value": n, "stdout": f"printed while answering op{n}", "stderr": ""}
                               for n in range(3)}


@pytest.mark.parametrize("behaviour", ["early", "twice", "wrong id", "not json", "verdict"],
                         ids=["an answer before its question", "two answers to one question",
                              "an answer to another question", "not JSON", "an extra field"])
def test_anything_but_the_answer_to_the_question_asked_taints_the_whole_step(tmp_path, behaviour):
    outcome = conversation(tmp_path, behaviour)
    assert outcome.tampered and not outcome.finished and "grading channel" in outcome.problem


def test_a_call_inside_a_call_keeps_both_time_limits():
    from checks.probes import harness

    def slow():
        time.sleep(3)

    # the inner call's own limit, the outer's when that is shorter, and the outer's once the inner returned
    assert harness.call_within(5, harness.call_within, 0.2, slow)["value"]["error"].startswith("did not return")
    assert harness.call_within(0.3, harness.call, slow)["value"]["error"].startswith("did not return")
    assert harness.call_within(0.3, lambda: (harness.call(lambda: None), slow()))["error"].startswith("did not return")


def test_every_operation_a_driver_asks_for_is_one_the_probes_answer():
    from checks.probes import app, calls, service, train

    ops = {*train.OPS, *app.OPS, *calls.OPS, *service.OPS}
    requests = {"train": {"splits": [{}], "fits": [{}], "flowers": []},
                "app": {"events": [{}], "broken_events": [{}]},
                "calls": {"calls": list(calls.CALLS)},
                "service": {"requests": [{}], "broken_requests": [{}], "calls": list(calls.CALLS)}}
    for probe, request in requests.items():
        asked, answers = [], questions.driver(probe, request)
        with contextlib.suppress(StopIteration):
            question = next(answers)
            while True:
                asked.append(question.op)
                question = answers.send({"value": True, "model": "set"})
        assert asked and set(asked) <= ops, probe


@pytest.mark.parametrize("needs, sandbox", [({}, "docker"), ({"network": True}, "process"),
                                           ({"lab_environment": True}, "process")],
                         ids=["nothing", "the network", "the lab's settings and packages"])
def test_the_sandbox_follows_what_the_step_declares_its_code_needs(monkeypatch, needs, sandbox):
    # given a step whose plan declares what its code needs, graded with containers
    chosen = []
    monkeypatch.setattr(spawn, "run_probe", lambda *args, isolation, **kwargs: chosen.append(isolation) or
                        channel.Outcome(finished=True, isolation=isolation))
    step = Step(0, "a step", "00_setup.ipynb")
    step.observe(lambda ctx: Plan("calls", {}, {}, **needs))
    # when it is observed
    run = observe(step, Context(config.load({})), "docker", None)
    # then the container runs it only when it needs neither the network nor the lab's environment
    assert chosen == [sandbox] and run.isolation == sandbox


def test_todo_lines_map_to_the_ids_checks_declare():
    assert todo_id("TODO still open: exercises/app.py predict()") == "app.py:predict"
    assert todo_id("TODO still open: exercises/app.py MODEL (module scope)") == "app.py:MODEL"
    assert todo_id("TODO still open: exercises/Dockerfile") == "Dockerfile"
    assert [todo_label(t) for t in ("app.py:MODEL", "train.py:split", "Dockerfile")] == [
        "exercises/app.py MODEL (module scope)", "exercises/train.py split()", "exercises/Dockerfile"]
    records = {"call/0": {"value": {"body": '{"error": "TODO still open: exercises/app.py predict()"}'},
                          "stderr": "TODO still open: exercises/app.py handler()"}}
    assert reported_todos(records) == {"app.py:predict": "TODO still open: exercises/app.py predict()"}


def test_a_hanging_import_costs_one_timeout_per_step_not_one_per_check(tmp_path):
    # given an app.py that never finishes importing, and 11 checks in step 2
    hang = next(m for m in mutation.mutants() if m.name == "hostile_import_loop")
    code = mutation.submission(hang, tmp_path)
    # when
    started = time.monotonic()
    graded = mutation.grade(code, tmp_path, [2], tmp_path / "grade.json", timeout=120)
    # then
    assert time.monotonic() - started < mutation.STEP_TIMEOUT + 25
    messages = {r["message"] for r in graded.report["results"] if not r["passed"]}
    assert any(f"timed out after {mutation.STEP_TIMEOUT} s" in m for m in messages)


def test_report_renders_as_text_json_and_html_and_says_when_it_was_not_sandboxed():
    report = Report([Result(1, "a", 2, True, "fine"), Result(1, "b<c>", 3, False, "bad", "try x")], {1: "Train"},
                    {1: "process, same user"}, lang="en")
    assert "FAIL  b<c> (0/3) - bad" in report.summary() and "hint: try x" in report.summary()
    assert "Not sandboxed" in report.summary(sandbox_note=True)
    assert json.loads(report.to_json())["sandboxed"] is False
    assert "b&lt;c&gt;" in report._repr_html_()


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_every_generated_case_is_what_the_given_request_reader_says_it_is(seed):
    # given the grader's cases of one run
    made = cases.all_cases(random.Random(seed), cases.Secrets())
    for case in made:
        # when labkit.serving reads the request a student's handler gets
        try:
            serving.read_request(case.event)
            status = 200
        except serving.ClientError as error:
            status = error.status
        # then it agrees with the status the check expects
        assert status in case.status, (case.label, status)
    assert made[0].kind == "species" and {c.kind for c in made} == {"species", "edge", "mistake", "value"}


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_every_case_step_9_sends_as_http_is_what_the_service_would_answer(seed):
    # given the grader's cases of one run, as the HTTP requests step 9 sends
    hidden = cases.Secrets()
    for case in cases.all_cases(random.Random(seed), hidden):
        request = cases.http_request(case, hidden, cases.trace_id())
        if request is None:  # only a direct invoke, or a body API Gateway could not have base64-encoded
            assert case.label.startswith("direct invoke") or case.event.get("isBase64Encoded"), case.label
            continue
        # when the service reads it as the lab's service does (FastAPI answers other methods 405 itself)
        try:
            if request["method"] != "POST":
                raise serving.ClientError(405, "method not allowed")
            serving.parse_features(serving.parse_json(request["body"].encode()))
            status = 200
        except serving.ClientError as error:
            status = error.status
        # then it agrees with the status step 9's checks expect
        assert status in case.status, (case.label, status)


def test_drawn_flowers_are_no_iris_rows_and_their_species_is_all_but_certain():
    drawn = cases.draw_flowers(random.Random(), 300)
    public = {tuple(row) for row in cases.iris()[0].tolist()}
    model, _ = cases.grader_model()
    assert not {flower for flower, _ in drawn} & public
    assert all(cases.species_posterior(flower)[species] >= cases.CONFIDENT for flower, species in drawn)
    assert {species for _, species in drawn} == {"setosa", "versicolor", "virginica"}
    agreed = sum(str(model.predict([list(flower)])[0]) == species for flower, species in drawn)
    assert agreed >= 0.97 * len(drawn)


@pytest.mark.docker
def test_a_container_per_step_when_docker_is_there(tmp_path):
    if not (container.docker_available() and container.ensure_sandbox_image()):
        pytest.skip("no Docker engine, or the sandbox image cannot be built here")
    done = mutation.grade(mutation.SOLUTION, tmp_path, [2], tmp_path / "grade.json", sandbox="docker")
    assert done.report["passed"] and done.report["sandboxed"] and done.report["isolation"] == {"2": "docker"}


@pytest.mark.docker
@pytest.mark.parametrize("name", ["hostile_kills_grader", "hostile_plants_files", "hostile_forks_forever"])
def test_in_a_container_a_hostile_submission_cannot_even_stop_the_grader(name, tmp_path):
    if not (container.docker_available() and container.ensure_sandbox_image(build=False)):
        pytest.skip("no Docker engine, or no sandbox image (python -m checks --sandbox docker builds it)")
    hostile = next(m for m in mutation.mutants() if m.name == name)
    code = mutation.submission(hostile, tmp_path)
    train.train(tmp_path / "reference")
    build_dir = mutation.build(hostile, code, tmp_path, tmp_path / "reference")
    graded = mutation.grade(code, build_dir, [1], tmp_path / "grade.json", sandbox="docker")
    assert graded.returncode == 0 and graded.report["earned"] == graded.report["possible"], graded.stdout[-2000:]
    assert graded.report["isolation"] == {"1": "docker"} and not mutation.sleepers()
    assert not (mutation.REPO / "checks" / "step9_backdoor.py").exists()


def test_a_grader_with_many_open_files_and_a_large_address_space_still_confines_its_child(tmp_path):
    # given a trained model, and a grader process like a long test session or a notebook kernel:
    # over 256 open files, gigabytes mapped
    settings = config.load({}, code="lab_solution", build_dir=tmp_path)
    train.train(settings.model_dir)
    files = [os.open("/dev/null", os.O_RDONLY) for _ in range(300)]
    mapped = mmap.mmap(-1, 3 * 1024**3)
    try:
        # when it grades in the process sandbox (the limits bind the child only after it is confined)
        report = run_steps([1], Context(settings), isolation="process")
    finally:
        mapped.close()
        for fd in files:
            os.close(fd)
    # then the child ran and was graded
    assert report.earned == report.possible > 0
