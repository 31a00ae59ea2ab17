"""Step 2: the handler answers right, refuses bad input politely, loads the model once."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace

import joblib

from lab_solution import train as reference_train
from labkit.config import SETOSA

from .events import SHAPES, load_event
from .framework import CheckFailed, step

STEP = step(2, "Write the Lambda handler")
FLOWERS = {  # one real flower of each species, from the Iris data set
    "setosa": SETOSA,
    "versicolor": {"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4},
    "virginica": {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5},
}
GOOD = FLOWERS["setosa"]


@contextlib.contextmanager
def handler_under_test(ctx):
    """Import app.py as Lambda would: code in one folder, LAMBDA_TASK_ROOT naming the model's.

    The model is the student's from step 1, or the reference model when step 1 is not
    done yet, so that this step is graded on its own. Yields the module and a list
    that records every ``joblib.load`` call.
    """
    model = ctx.settings.model_dir / "model.joblib"
    with tempfile.TemporaryDirectory() as code_dir, tempfile.TemporaryDirectory() as task_root:
        shutil.copy(ctx.source("app"), Path(code_dir) / "app.py")
        if model.exists():
            shutil.copy(model, Path(task_root) / "model.joblib")
        else:
            reference_train.train(Path(task_root))
        os.environ["LAMBDA_TASK_ROOT"] = task_root
        loads, real_load = [], joblib.load
        joblib.load = lambda *args, **kwargs: loads.append(args) or real_load(*args, **kwargs)
        spec = importlib.util.spec_from_file_location("app", Path(code_dir) / "app.py")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            raise CheckFailed(f"importing app.py failed: {type(error).__name__}: {error}") from None
        yield module, loads


def invoke(module, event) -> tuple[int, dict, dict]:
    """Call the handler like Lambda does and unpack its proxy response."""
    context = SimpleNamespace(aws_request_id=str(uuid.uuid4()), function_name="serverless-iris",
                              memory_limit_in_mb=1024, get_remaining_time_in_millis=lambda: 30_000)
    try:
        response = module.handler(event, context)
    except Exception as error:
        raise CheckFailed(f"the handler raised {type(error).__name__}: {error} (a client would get a 502)") from None
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        raise CheckFailed(f"the handler must return {{'statusCode': int, 'body': str, ...}}, got {str(response)[:80]}")
    try:
        body = json.loads(response.get("body") or "null")
    except (TypeError, ValueError):
        raise CheckFailed("the response body is not a JSON string") from None
    return response["statusCode"], body, response.get("headers") or {}


def expect_refusals(module, cases: dict[str, object], statuses: range | tuple) -> None:
    """Each named event must get one of ``statuses`` and a JSON ``{"error": "..."}`` body."""
    wrong = []
    for label, event in cases.items():
        status, body, _ = invoke(module, event)
        if status not in statuses or not (isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]):
            wrong.append(f"{label} -> {status} {json.dumps(body)[:60]}")
    if wrong:
        raise CheckFailed("; ".join(wrong))


def _body(raw: str):
    return load_event(raw_body=raw)


@STEP.check("app.py imports and loads the model from LAMBDA_TASK_ROOT", points=2,
            hint="Build the model path from os.environ['LAMBDA_TASK_ROOT'] (/var/task in the image), not a fixed folder.")
def imports(ctx):
    with handler_under_test(ctx) as (module, loads):
        if not loads:
            raise CheckFailed("importing app.py did not call joblib.load")
        if getattr(module, "MODEL", None) is None:
            raise CheckFailed("MODEL is still None after import")


@STEP.check("the model loads once, at import, not per request", points=2, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="Load the model at module scope; the handler should only use it. Warm requests must not reload it.")
def loads_once(ctx):
    with handler_under_test(ctx) as (module, loads):
        for _ in range(5):
            invoke(module, load_event(body=GOOD))
        if len(loads) != 1:
            raise CheckFailed(f"joblib.load ran {len(loads)} times for an import and 5 requests")


@STEP.check("known flowers get the right species", points=3, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="Answer 200 with {'prediction': <species name>, 'version': 'v1'}.")
def right_species(ctx):
    with handler_under_test(ctx) as (module, _):
        for species, flower in FLOWERS.items():
            status, body, _ = invoke(module, load_event(body=flower))
            if status != 200 or body.get("prediction") != species or body.get("version") != "v1":
                raise CheckFailed(f"a {species} got {status} {json.dumps(body)[:80]}")


@STEP.check("payload 2.0, payload 1.0 and direct invokes all work", points=2, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="2.0 has requestContext.http.method, 1.0 has httpMethod, a direct invoke's event is the request itself.")
def event_shapes(ctx):
    with handler_under_test(ctx) as (module, _):
        for shape in SHAPES:
            status, body, _ = invoke(module, load_event(shape, body=FLOWERS["virginica"]))
            if status != 200 or body.get("prediction") != "virginica":
                raise CheckFailed(f"a {shape} event got {status} {json.dumps(body)[:80]}")


@STEP.check("malformed bodies answer 400 with an error message", points=2, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="Catch json errors and wrong shapes; answer {'statusCode': 400, 'body': json.dumps({'error': ...})}.")
def malformed(ctx):
    with handler_under_test(ctx) as (module, _):
        cases = {"invalid JSON": _body("{\"sepal_length\": "), "empty body": _body(""), "a list": _body("[1, 2, 3, 4]"),
                 "a number": _body("42"), "a string": _body("\"setosa\""), "null": _body("null"),
                 "no body": {**load_event(), "body": None}, "a list event": [1, 2], "a string event": "hello"}
        expect_refusals(module, cases, (400,))


@STEP.check("missing and unexpected fields answer 400", points=2, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="Compare the request's keys with the four feature names; say which are missing or unexpected.")
def fields(ctx):
    with handler_under_test(ctx) as (module, _):
        missing = {k: v for k, v in GOOD.items() if k != "petal_width"}
        cases = {"a missing field": load_event(body=missing), "an empty object": load_event(body={}),
                 "an extra field": load_event(body={**GOOD, "colour": "blue"})}
        expect_refusals(module, cases, (400,))


@STEP.check("non-numbers, NaN and infinity answer 4xx", points=2, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="Accept only int/float (a bool is not a measurement) and reject NaN and infinity (math.isfinite).")
def non_numbers(ctx):
    with handler_under_test(ctx) as (module, _):
        raw = json.dumps(GOOD)
        cases = {f"{label}": load_event(body={**GOOD, "sepal_width": value})
                 for label, value in [("a string", "3.5"), ("true", True), ("null", None), ("a list", [3.5])]}
        cases |= {"NaN": _body(raw.replace("3.5", "NaN")), "Infinity": _body(raw.replace("3.5", "Infinity")),
                  "1e999": _body(raw.replace("3.5", "1e999"))}
        expect_refusals(module, cases, range(400, 500))


@STEP.check("negative measurements answer 4xx", points=1, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="A length in centimetres cannot be negative.")
def negatives(ctx):
    with handler_under_test(ctx) as (module, _):
        expect_refusals(module, {"petal_length=-1": load_event(body={**GOOD, "petal_length": -1})}, range(400, 500))


@STEP.check("wrong HTTP methods answer 405", points=1, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="Read the method from requestContext.http.method (2.0) or httpMethod (1.0); only POST predicts.")
def methods(ctx):
    with handler_under_test(ctx) as (module, _):
        cases = {f"{method} ({shape})": load_event(shape, body=GOOD, method=method)
                 for shape in ("apigw_http_v2", "apigw_http_v1") for method in ("GET", "PUT")}
        expect_refusals(module, cases, (405,))


@STEP.check("oversized bodies answer 413", points=1, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="Check the body's size before parsing it.")
def oversized(ctx):
    with handler_under_test(ctx) as (module, _):
        huge = json.dumps({**GOOD, "padding": "x" * 1_000_000})
        expect_refusals(module, {"a 1 MB body": _body(huge),
                                 "a 1 MB base64 body": load_event(raw_body=huge, base64_encoded=True)}, (413,))


@STEP.check("base64-encoded bodies are decoded", points=1, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="When isBase64Encoded is true, base64-decode the body first; invalid base64 is a 400.")
def base64_bodies(ctx):
    with handler_under_test(ctx) as (module, _):
        status, body, _ = invoke(module, load_event(body=GOOD, base64_encoded=True))
        if status != 200 or body.get("prediction") != "setosa":
            raise CheckFailed(f"a base64-encoded setosa got {status} {json.dumps(body)[:80]}")
        expect_refusals(module, {"invalid base64": {**load_event(), "body": "not base64!", "isBase64Encoded": True}}, (400,))


@STEP.check("the caller can tell a cold start from a warm call", points=1, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="Keep a module-level flag; report it as 'cold_start' in the body (and an X-Cold-Start header).")
def cold_flag(ctx):
    with handler_under_test(ctx) as (module, _):
        first = invoke(module, load_event(body=GOOD))[1].get("cold_start")
        second = invoke(module, load_event(body=GOOD))[1].get("cold_start")
        if (first, second) != (True, False):
            raise CheckFailed(f"cold_start was {first} then {second}; expected true then false")


@STEP.check("each request logs one JSON line", points=1, needs="app.py imports and loads the model from LAMBDA_TASK_ROOT",
            hint="print(json.dumps({...})) once per request with request_id, latency_ms and cold_start.")
def logs_json(ctx):
    with handler_under_test(ctx) as (module, _):
        for event in (load_event(body=GOOD), _body("oops")):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                invoke(module, event)
            lines = [line for line in out.getvalue().splitlines() if line.strip()]
            try:
                record = json.loads(lines[0]) if len(lines) == 1 else None
            except ValueError:
                record = None
            if not isinstance(record, dict) or not {"request_id", "latency_ms", "cold_start"} <= record.keys():
                raise CheckFailed(f"expected one JSON line with request_id, latency_ms, cold_start; got {lines[:2]}")
