"""Fidelity (issue 12, finding 10): the HTTP API event, Lambda's sandbox in docker mode, honest REPORT lines."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from localcloud.aws.awslambda.answers import classify
from localcloud.aws.awslambda.lambdalog import Invocation

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def web_api(lab):
    name = lab.function("web")
    return lab.http_api(name, route_key="ANY /{proxy+}")


def event_of(answer: requests.Response) -> dict:
    assert answer.status_code == 200, answer.text
    return answer.json()["event"]


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "application/x-www-form-urlencoded"},
                                     {"Content-Type": "application/octet-stream"}],
                         ids=["no content type", "form (curl -d)", "binary"])
def test_bodies_that_are_not_text_arrive_base64_encoded(lab, web_api, headers):
    body = b'{"sepal_length": 5.1}'
    event = event_of(requests.post(f"{web_api}/predict?shape=shorthand", data=body, headers=headers))
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == body


def test_json_bodies_arrive_as_text(lab, web_api):
    event = event_of(requests.post(f"{web_api}/predict?shape=shorthand", json={"sepal_length": 5.1}))
    assert event["isBase64Encoded"] is False and event["body"] == '{"sepal_length": 5.1}'


def test_raw_path_is_decoded_as_utf_8_and_domain_prefix_is_the_api_id(lab, web_api):
    event = event_of(requests.get(f"{web_api}/caf%C3%A9?shape=shorthand"))
    api_id = web_api.rsplit("/", 1)[1]
    assert event["rawPath"] == "/café" and event["requestContext"]["http"]["path"] == "/café"
    assert event["pathParameters"] == {"proxy": "café"}
    assert event["requestContext"]["domainPrefix"] == api_id


def test_the_sandbox_is_lambdas(lab):
    answer, _ = lab.invoke(lab.function("sandbox"))
    assert answer["tty"] is False
    if lab.mode == "docker":  # host mode runs as this machine's user, over a folder of its own
        assert (answer["uid"], answer["gid"]) == (993, 990)  # sbx_user1051
        assert answer["task_root_writable"] is False and answer["tmp_writable"] is True


def test_report_says_nothing_of_memory_it_could_not_measure():
    unmeasured = Invocation("id", 256, cold=False, version="$LATEST", max_memory=lambda: None, on_final=lambda _: None)
    measured = Invocation("id", 256, cold=False, version="$LATEST", max_memory=lambda: 71, on_final=lambda _: None)
    for invocation in (unmeasured, measured):
        invocation.reported(1.5)
        invocation.answered(expect_report=True)
    assert "Max Memory Used" not in unmeasured.final()[-1][1]
    assert "Max Memory Used: 71 MB" in measured.final()[-1][1]


@pytest.mark.parametrize(("status", "body", "expected", "retire"), [
    (200, b'{"ok": true}', "ok", False),
    (200, b"Task timed out after 2.00 seconds", "timeout", True),
    (200, b'{"errorMessage": "boom", "errorType": "ValueError", "requestId": "", "stackTrace": []}', "error", False),
    (200, b'{"errorMessage": "a result that only looks like one", "extra": 1}', "ok", False),
    (200, b'"' + b"x" * (6 * 1024 * 1024) + b'"', "error", False),
    (502, b'{"errorType": "Runtime.ExitError", "errorMessage": "exited"}', "crash", True),
])
def test_the_rie_answer_is_classified_as_lambda_answers(status, body, expected, retire):
    verdict = classify(status, body, "rid-1", "2026-01-01T00:00:00.000Z")
    assert (verdict.status, verdict.retire) == (expected, retire)
    if expected == "timeout":
        assert json.loads(verdict.payload) == {
            "errorMessage": "2026-01-01T00:00:00.000Z rid-1 Task timed out after 2.00 seconds"}
    if expected == "error" and status == 200 and len(body) < 1000:
        assert json.loads(verdict.payload)["requestId"] == "rid-1"
