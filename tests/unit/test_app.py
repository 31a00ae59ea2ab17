"""The handler's contract (lab_solution/app.py's docstring), against real API Gateway event shapes."""

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import pytest

from checks.events import SHAPES, load_event
from labkit.config import SETOSA

CONTEXT = SimpleNamespace(aws_request_id="req-1")


def call(app, event):
    response = app.handler(event, CONTEXT)
    return response["statusCode"], json.loads(response["body"]), response["headers"]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_event_shape_predicts_the_species(app, shape):
    # when
    status, body, headers = call(app, load_event(shape, body=SETOSA))
    # then
    assert status == 200
    assert body["prediction"] == "setosa" and body["version"] == "v1"
    assert set(body["probabilities"]) == {"setosa", "versicolor", "virginica"}
    assert headers["Content-Type"] == "application/json" and headers["X-Request-Id"] == "req-1"


def test_cold_start_is_reported_once(app):
    # given a fresh environment
    app._cold_start = True
    # when
    first = call(app, load_event(body=SETOSA))
    second = call(app, load_event(body=SETOSA))
    # then
    assert (first[1]["cold_start"], second[1]["cold_start"]) == (True, False)
    assert (first[2]["X-Cold-Start"], second[2]["X-Cold-Start"]) == ("true", "false")


def test_a_provisioned_environment_serves_no_cold_start(app, monkeypatch):
    # given an environment that provisioned concurrency initialised ahead of traffic
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    provisioned = importlib.reload(app)
    try:
        # when / then: even its first request did not wait for INIT
        assert call(provisioned, load_event(body=SETOSA))[1]["cold_start"] is False
    finally:
        monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE")
        importlib.reload(app)


@pytest.mark.parametrize(
    "event, status, says",
    [
        (load_event(raw_body="{"), 400, "not valid JSON"),
        (load_event(raw_body=""), 400, "empty"),
        (load_event(body=[1, 2]), 400, "JSON object"),
        (load_event(body={}), 400, "missing: sepal_length"),
        (load_event(body={**SETOSA, "x": 1}), 400, "unexpected: x"),
        (load_event(body={**SETOSA, "sepal_width": "3.5"}), 400, "must be a number"),
        (load_event(body={**SETOSA, "sepal_width": True}), 400, "must be a number"),
        (load_event(raw_body=json.dumps(SETOSA).replace("3.5", "NaN")), 400, "not valid JSON"),
        (load_event(raw_body=json.dumps(SETOSA).replace("3.5", "1e999")), 422, "finite"),
        (load_event(body={**SETOSA, "petal_length": -0.1}), 422, "between 0 and 100"),
        (load_event(body={**SETOSA, "petal_length": 10**400}), 422, "between 0 and 100"),
        (load_event(body=SETOSA, method="GET"), 405, "use POST"),
        (load_event("apigw_http_v1", body=SETOSA, method="DELETE"), 405, "use POST"),
        (load_event(raw_body="x" * 10_001), 413, "larger than"),
        ({**load_event(), "body": "%%%", "isBase64Encoded": True}, 400, "base64"),
        ("not an event", 400, "JSON object"),
    ],
)
def test_client_mistakes_get_a_4xx_with_a_message(app, event, status, says):
    # when
    got, body, _ = call(app, event)
    # then
    assert got == status
    assert says in body["error"]


def test_base64_bodies_are_decoded(app):
    assert call(app, load_event(body=SETOSA, base64_encoded=True))[1]["prediction"] == "setosa"


def test_each_request_logs_one_json_line(app, capsys):
    # when
    call(app, load_event(body=SETOSA))
    call(app, load_event(raw_body="{"))
    # then
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["status"] for r in records] == [200, 400]
    assert all(r["request_id"] == "req-1" and r["latency_ms"] >= 0 for r in records)


def test_a_bug_answers_500_without_a_traceback(app, monkeypatch, capsys):
    # given a model that breaks
    monkeypatch.setattr(app, "MODEL", None)
    # when
    status, body, _ = call(app, load_event(body=SETOSA))
    # then: the client sees a short message, the log has the traceback
    assert status == 500 and body == {"error": "internal error", "request_id": "req-1"}
    assert "Traceback" in capsys.readouterr().err
