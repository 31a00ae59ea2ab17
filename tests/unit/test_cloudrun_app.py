"""The Cloud Run container's app (lab_solution/service.py) answers as the Lambda handler does.

Every request is sent both ways, as an HTTP request to the FastAPI app and as an API Gateway
event to lab_solution/app.py's handler, and the two answers must match.
"""

from __future__ import annotations

import importlib
import json
import sys
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from checks.events import load_event
from labkit.config import REPO_ROOT, SETOSA


@pytest.fixture(scope="module")
def service(model_dir):
    """service.py imported as the container imports it: ``app`` and ``labkit`` beside it, the model in its folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAMBDA_TASK_ROOT", str(model_dir))
        patch.syspath_prepend(str(REPO_ROOT / "lab_solution"))
        main = importlib.import_module("service")
        yield main
        for name in ("service", "app"):
            sys.modules.pop(name, None)


@pytest.fixture
def client(service):
    service._cold_start = True
    return TestClient(service.service)


def lambda_answer(service, raw_body: str, method: str = "POST") -> tuple[int, dict]:
    answer = service.handler.handler(load_event(raw_body=raw_body, method=method), SimpleNamespace(aws_request_id="r"))
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.parametrize("raw_body", [
    json.dumps(SETOSA), json.dumps({**SETOSA, "petal_length": 4.7, "petal_width": 1.4}), "{", "", "[1, 2]", "{}",
    json.dumps({**SETOSA, "x": 1}), json.dumps({**SETOSA, "sepal_width": "3.5"}),
    json.dumps(SETOSA).replace("3.5", "NaN"), json.dumps(SETOSA).replace("3.5", "1e999"),
    json.dumps({**SETOSA, "petal_length": -0.1}), "x" * 10_001,
])
def test_every_answer_is_the_lambda_handlers(client, service, raw_body):
    # when
    answer = client.post("/predict", content=raw_body)
    status, body = lambda_answer(service, raw_body)
    # then
    assert answer.status_code == status
    got = answer.json()
    assert {k: v for k, v in got.items() if k != "cold_start"} == {k: v for k, v in body.items() if k != "cold_start"}


def test_the_first_request_of_an_instance_is_its_cold_start(client):
    first, second = client.post("/predict", json=SETOSA), client.post("/predict", json=SETOSA)
    assert (first.headers["X-Cold-Start"], second.headers["X-Cold-Start"]) == ("true", "false")
    assert (first.json()["cold_start"], second.json()["cold_start"]) == (True, False)
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


def test_cloud_runs_trace_header_names_the_request(client):
    answer = client.post("/predict", json=SETOSA, headers={"X-Cloud-Trace-Context": "105445aa7843bc8bf206b1200/1;o=1"})
    assert answer.headers["X-Request-Id"] == "105445aa7843bc8bf206b1200"


@pytest.mark.parametrize("method, path, status, says", [
    ("GET", "/predict", 405, "method GET is not allowed; use POST"),
    ("PUT", "/predict", 405, "use POST"),
    ("POST", "/nothing", 404, "Not Found"),
])
def test_wrong_methods_and_paths_answer_an_error_object(client, method, path, status, says):
    answer = client.request(method, path, json=SETOSA)
    assert answer.status_code == status and says in answer.json()["error"]


def test_a_huge_body_is_refused_without_reading_it_all(client):
    answer = client.post("/predict", content=iter([b"x" * 65536] * 200))  # 13 MB, chunked
    assert answer.status_code == 413 and "larger than" in answer.json()["error"]


def test_a_bug_answers_500_without_a_traceback(client, service, monkeypatch, capsys):
    monkeypatch.setattr(service.handler, "MODEL", None)
    answer = client.post("/predict", json=SETOSA)
    assert answer.status_code == 500 and answer.json()["error"] == "internal error"
    assert "Traceback" in capsys.readouterr().err
