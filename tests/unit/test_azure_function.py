"""azure/function_app.py with the azure-functions package's own HttpRequest and HttpResponse types.

The Functions host is not run (that needs Azure Functions Core Tools); the function is called
as the host calls it, and its answers must be the Lambda handler's.
"""

from __future__ import annotations

import importlib
import json
import sys
from types import SimpleNamespace

import azure.functions as func
import pytest

from checks.events import load_event
from labkit import config
from labkit.config import REPO_ROOT, SETOSA


@pytest.fixture(scope="module")
def function_app(model_dir):
    """function_app.py imported as the Functions host imports it: ``app`` and ``labkit`` beside it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAMBDA_TASK_ROOT", str(model_dir))
        patch.syspath_prepend(str(REPO_ROOT / "lab_solution"))
        patch.syspath_prepend(str(REPO_ROOT / "azure"))
        module = importlib.import_module("function_app")
        (module.registered,) = module.app.get_functions()  # the host reads them once: a second call raises
        yield module
        for name in ("function_app", "app"):
            sys.modules.pop(name, None)


def call(function_app, method: str = "POST", body: bytes = b"", invocation_id: str = "inv-1") -> func.HttpResponse:
    request = func.HttpRequest(method, "http://localhost:7071/api/predict", body=body,
                               headers={"Content-Type": "application/json"})
    return function_app.registered.get_user_function()(request, SimpleNamespace(invocation_id=invocation_id))


def test_the_function_is_an_anonymous_http_trigger_on_predict(function_app):
    trigger = json.loads(function_app.registered.get_function_json())["bindings"][0]
    assert (trigger["type"], trigger["route"], trigger["authLevel"]) == ("httpTrigger", "predict", "ANONYMOUS")


def test_a_flower_gets_its_species_and_the_cold_start_once(function_app):
    function_app._cold_start = True
    first, second = call(function_app, body=json.dumps(SETOSA).encode()), call(function_app, body=json.dumps(SETOSA).encode())
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert json.loads(first.get_body())["prediction"] == "setosa"
    assert (first.headers["X-Cold-Start"], second.headers["X-Cold-Start"]) == ("true", "false")
    assert first.headers["X-Request-Id"] == "inv-1"


@pytest.mark.parametrize("method, raw_body", [
    ("POST", "{"), ("POST", ""), ("POST", "[1]"), ("POST", json.dumps({**SETOSA, "x": 1})),
    ("POST", json.dumps({**SETOSA, "sepal_width": -1})), ("POST", "x" * 10_001), ("GET", json.dumps(SETOSA)),
])
def test_client_mistakes_get_the_lambda_handlers_4xx(function_app, method, raw_body):
    # when
    answer = call(function_app, method, raw_body.encode())
    expected = function_app.handler.handler(load_event(raw_body=raw_body, method=method),
                                            SimpleNamespace(aws_request_id="r"))
    # then
    assert 400 <= answer.status_code < 500 and answer.status_code == expected["statusCode"]
    assert json.loads(answer.get_body()) == json.loads(expected["body"])


def test_a_bug_answers_500_without_a_traceback(function_app, monkeypatch, capsys):
    monkeypatch.setattr(function_app.handler, "MODEL", None)
    answer = call(function_app, body=json.dumps(SETOSA).encode())
    assert answer.status_code == 500 and json.loads(answer.get_body()) == {"error": "internal error",
                                                                           "request_id": "inv-1"}
    assert "Traceback" in capsys.readouterr().err


def test_the_staged_folder_is_what_the_functions_host_runs(tmp_path, model_dir):
    from labkit import azure_functions

    settings = config.load({"LAB_BUILD_DIR": str(tmp_path)}, code="lab_solution")
    settings.model_dir.mkdir(parents=True)
    (settings.model_dir / "model.joblib").write_bytes((model_dir / "model.joblib").read_bytes())
    folder = azure_functions.stage(settings, config.code_dir(settings))
    staged = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert staged == ["app.py", "function_app.py", "host.json", "labkit/__init__.py", "labkit/serving.py",
                      "labkit/todo.py", "local.settings.json", "model.joblib", "requirements-model.txt",
                      "requirements.txt"]
    assert json.loads((folder / "local.settings.json").read_text())["Values"]["FUNCTIONS_WORKER_RUNTIME"] == "python"
