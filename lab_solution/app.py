"""Step 2: the AWS Lambda handler that serves the Iris model.

Lambda imports this module once per execution environment (the *cold start*), then
calls :func:`handler` for every request that environment serves (*warm* calls). So
the model is loaded here, at module scope, exactly once, and ``handler`` only
validates, predicts and answers.

Request: an API Gateway HTTP API event (payload 2.0 or 1.0) or a direct invoke whose
event is the JSON object itself::

    {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}

Answer: ``200 {"prediction": "setosa", "probabilities": {...}, "version": "v1", "cold_start": true}``,
or ``4xx {"error": "..."}`` for anything the client got wrong. Every answer carries
``X-Cold-Start`` and ``X-Request-Id`` (Lambda's request id, which names the request in
the logs) headers, and every request logs one JSON line to CloudWatch.
"""

from __future__ import annotations

import base64
import json
import math
import os
import time
import traceback
from pathlib import Path

import numpy as np

VERSION = "v1"
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
MAX_CM = 100  # the largest iris is ~30 cm; beyond this a value is a typo, not a flower
MAX_BODY_BYTES = 10_000  # four numbers need ~100 bytes; refuse anything absurd before parsing it


class ClientError(Exception):
    """The request is wrong; ``status`` and the message go back to the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class OnnxModel:
    """A model exported to ONNX (step 7's lighter runtime), behind scikit-learn's predict_proba and classes_."""

    def __init__(self, path: Path):
        import onnxruntime  # only the ONNX image has it, and it needs neither scikit-learn nor SciPy

        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.classes_ = np.array(json.loads(self.session.get_modelmeta().custom_metadata_map["classes"]))

    def predict_proba(self, rows) -> np.ndarray:
        return self.session.run(["probabilities"], {self.input: np.asarray(rows, dtype=np.float32)})[0]


def load_model(task_root: Path):
    """Load the model from the function's code folder (``LAMBDA_TASK_ROOT``): ``model.joblib``,
    or ``model.onnx`` in the lighter image of step 7."""
    if (task_root / "model.onnx").exists():
        return OnnxModel(task_root / "model.onnx")
    import joblib  # imported here, so that the ONNX image needs no joblib

    # BEGIN SOLUTION: return joblib.load() of task_root / "model.joblib".
    return joblib.load(task_root / "model.joblib")
    # END SOLUTION


# Module scope runs once per execution environment: pay for the model load at the cold
# start, not on every request. LAMBDA_TASK_ROOT is /var/task in a Lambda image.
TASK_ROOT = Path(os.environ.get("LAMBDA_TASK_ROOT", Path(__file__).resolve().parent))
# BEGIN SOLUTION: load the model once, here at module scope, into MODEL.
MODEL = load_model(TASK_ROOT)
# END SOLUTION (exercise: MODEL = None)
# The first request of an environment waited for INIT, unless provisioned concurrency ran
# INIT ahead of any traffic.
_cold_start = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "provisioned-concurrency"


def read_body(event: dict) -> object:
    """The JSON request from an API Gateway event (2.0 or 1.0) or a direct invoke."""
    if "body" not in event and ("requestContext" not in event and "httpMethod" not in event):
        return event  # direct invoke: the event is the request itself
    body = event.get("body")
    if body is None or body == "":
        raise ClientError(400, "request body is empty; send a JSON object with " + ", ".join(FEATURES))
    if not isinstance(body, str):
        raise ClientError(400, "request body must be a JSON string")
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, non-ASCII input and UnicodeDecodeError are all ValueErrors
            raise ClientError(400, "request body is marked base64 but is not base64-encoded UTF-8") from None
    if len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise ClientError(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        # json.loads accepts NaN and Infinity by default; a measurement cannot be either.
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise ClientError(400, f"request body is not valid JSON: {error}") from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def parse_features(request: object) -> list[float]:
    """Validate the request and return the four measurements in :data:`FEATURES` order.

    Raises:
        ClientError: 400 for a wrong shape, missing/extra/non-numeric fields; 422 for
            values that are numbers but not measurements (not finite, outside 0-MAX_CM).
    """
    # BEGIN SOLUTION: check it is a dict with exactly FEATURES, each a finite number (not a bool) from 0 to MAX_CM.
    if not isinstance(request, dict):
        raise ClientError(400, "request must be a JSON object with " + ", ".join(FEATURES))
    missing = [f for f in FEATURES if f not in request]
    extra = sorted(str(k) for k in request if k not in FEATURES)
    if missing or extra:
        problems = ([f"missing: {', '.join(missing)}"] if missing else []) + (
            [f"unexpected: {', '.join(extra)}"] if extra else []
        )
        raise ClientError(400, "; ".join(problems))
    values = []
    for name in FEATURES:
        value = request[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ClientError(400, f"{name} must be a number, got {json.dumps(value)[:40]}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ClientError(422, f"{name} must be a finite number")
        if not 0 <= value <= MAX_CM:
            raise ClientError(422, f"{name} is a length in cm: it must lie between 0 and {MAX_CM}")
        values.append(float(value))
    return values
    # END SOLUTION


def predict(features: list[float]) -> dict:
    """The species and class probabilities for one flower."""
    # BEGIN SOLUTION: call MODEL.predict_proba on [features]; return prediction (species name) and probabilities.
    probabilities = MODEL.predict_proba([features])[0]
    best = int(probabilities.argmax())
    return {
        "prediction": str(MODEL.classes_[best]),
        "probabilities": {str(c): round(float(p), 4) for c, p in zip(MODEL.classes_, probabilities)},
    }
    # END SOLUTION


def handler(event, context):
    """Lambda entry point: answer one request in API Gateway's proxy-response format."""
    global _cold_start
    cold, _cold_start = _cold_start, False
    started = time.perf_counter()
    request_id = getattr(context, "aws_request_id", None)
    try:
        method = _method(event)
        if method not in (None, "POST"):
            raise ClientError(405, f"method {method} is not allowed; use POST")
        status, body = 200, {**predict(parse_features(read_body(event))), "version": VERSION, "cold_start": cold}
    except ClientError as error:
        status, body = error.status, {"error": str(error)}
    except Exception:  # a bug of ours, not the client's: log the traceback, answer without it
        traceback.print_exc()
        status, body = 500, {"error": "internal error", "request_id": request_id}
    log = {
        "request_id": request_id,
        "status": status,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        "cold_start": cold,
    }
    print(json.dumps(log))
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "X-Cold-Start": str(cold).lower(),
                    "X-Request-Id": str(request_id)},
        "body": json.dumps(body),
    }


def _method(event) -> str | None:
    """The HTTP method of a gateway event (2.0: requestContext.http, 1.0: httpMethod)."""
    if not isinstance(event, dict):
        raise ClientError(400, "event must be a JSON object")
    request_context = event.get("requestContext")
    http = request_context.get("http") if isinstance(request_context, dict) else None
    method = http.get("method") if isinstance(http, dict) else event.get("httpMethod")
    return method.upper() if isinstance(method, str) else None
