"""What every serving entry point shares: reading a request, validating a flower, loading the model.

The Lambda handler (``app.py``) and the Cloud Run container both use it, and it ships inside
their images, so it needs only the standard library and NumPy (plus joblib or ONNX Runtime,
imported by :func:`load_model` for the model it finds).

Requests arrive as an API Gateway HTTP API event (payload 2.0 or 1.0) or as a direct invoke
whose event is the JSON object itself::

    {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}

Every client mistake raises :class:`ClientError` with the HTTP status and a message for
the client: 400 for a wrong shape, 405 for a wrong method, 413 for an absurd body, 422
for numbers that are not measurements.
"""

from __future__ import annotations

import base64
import json
import math
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .todo import open_todo

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
MAX_CM = 100  # the largest iris is ~30 cm; beyond this a value is a typo, not a flower
MAX_BODY_BYTES = 10_000  # four numbers need ~100 bytes; refuse anything absurd before parsing it
EMPTY_BODY = "request body is empty; send a JSON object with " + ", ".join(FEATURES)


class ClientError(Exception):
    """The request is wrong; ``status`` and the message go back to the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def read_request(event: object) -> list[float]:
    """The four measurements of the flower an event asks about, in :data:`FEATURES` order."""
    method = http_method(event)
    if method not in (None, "POST"):
        raise ClientError(405, f"method {method} is not allowed; use POST")
    return parse_features(read_body(event))


def http_method(event: object) -> str | None:
    """The HTTP method of a gateway event (2.0: requestContext.http, 1.0: httpMethod); None when invoked directly."""
    if not isinstance(event, dict):
        raise ClientError(400, "event must be a JSON object")
    request_context = event.get("requestContext")
    http = request_context.get("http") if isinstance(request_context, dict) else None
    method = http.get("method") if isinstance(http, dict) else event.get("httpMethod")
    return method.upper() if isinstance(method, str) else None


def read_body(event: dict) -> object:
    """The JSON request from an API Gateway event (2.0 or 1.0) or a direct invoke."""
    if "body" not in event and ("requestContext" not in event and "httpMethod" not in event):
        return event  # direct invoke: the event is the request itself
    body = event.get("body")
    if body is None:
        raise ClientError(400, EMPTY_BODY)
    if not isinstance(body, str):
        raise ClientError(400, "request body must be a JSON string")
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, non-ASCII input and UnicodeDecodeError are all ValueErrors
            raise ClientError(400, "request body is marked base64 but is not base64-encoded UTF-8") from None
    return parse_json(body)


def parse_json(body: str | bytes) -> object:
    """A request body as JSON, refusing empty bodies, absurd sizes, NaN and Infinity."""
    if not body:
        raise ClientError(400, EMPTY_BODY)
    size = len(body) if isinstance(body, bytes) else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise ClientError(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        # json.loads accepts NaN and Infinity by default; a measurement cannot be either.
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise ClientError(400, f"request body is not valid JSON: {error}") from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def parse_features(request: object) -> list[float]:
    """Validate the request: exactly :data:`FEATURES`, each a finite number of cm from 0 to :data:`MAX_CM`."""
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


def answer(features: Callable[[], list[float]], predict: Callable[[list[float]], dict], *, version: str,
           cold: bool, request_id: str | None) -> tuple[int, dict]:
    """One request served over HTTP (Cloud Run, Azure Functions): ``(status, body)``, logged in one line.

    Args:
        features: reads and validates the request (raises ClientError for the client's mistakes).
        predict: the species and probabilities for four measurements (``app.predict``).
    """
    started = time.perf_counter()
    try:
        status, body = 200, {**predict(features()), "version": version, "cold_start": cold}
    except ClientError as error:
        status, body = error.status, {"error": str(error)}
    except Exception as error:  # a bug of ours, not the client's: log the traceback, answer without it
        traceback.print_exc()
        status, body = 500, internal_error(error, request_id)
    print(log_line(request_id, status, started, cold))
    return status, body


def internal_error(error: BaseException, request_id: str | None) -> dict:
    """The body of a 500: never the traceback; an open exercise TODO is named so the student sees it."""
    return {"error": open_todo(error) or "internal error", "request_id": request_id}


def log_line(request_id: str | None, status: int, started: float, cold: bool) -> str:
    """The one JSON line a request logs: what to search CloudWatch Logs by, and nothing the client sent."""
    return json.dumps({"request_id": request_id, "status": status,
                       "latency_ms": round((time.perf_counter() - started) * 1000, 3), "cold_start": cold})


class OnnxModel:
    """A model exported to ONNX (step 7's lighter runtime), behind scikit-learn's predict_proba and classes_."""

    def __init__(self, path: Path):
        import onnxruntime  # only the ONNX image has it, and it needs neither scikit-learn nor SciPy

        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.classes_ = np.array(json.loads(self.session.get_modelmeta().custom_metadata_map["classes"]))

    def predict_proba(self, rows) -> np.ndarray:
        return self.session.run(["probabilities"], {self.input: np.asarray(rows, dtype=np.float32)})[0]


class NumpyModel:
    """Step 7's smallest dependency tree: the scaler + logistic regression predicted with NumPy alone
    from its exported numbers (``model.json``), behind scikit-learn's predict_proba and classes_."""

    def __init__(self, path: Path, dtype=np.float64):
        """Load the numbers, stored and computed in ``dtype`` (``np.float16`` quantises them)."""
        numbers = json.loads(path.read_text())
        self.dtype = np.dtype(dtype)
        self.classes_ = np.array(numbers["classes"])
        self.mean, self.scale, self.coef, self.intercept = (
            np.array(numbers[key], dtype=self.dtype) for key in ("mean", "scale", "coef", "intercept"))

    @property
    def parameter_bytes(self) -> int:
        """The size of the model itself: its numbers, in memory."""
        return sum(a.nbytes for a in (self.mean, self.scale, self.coef, self.intercept))

    def predict_proba(self, rows) -> np.ndarray:
        """One row of class probabilities per flower: standardise, a linear score per class, softmax."""
        scores = (np.asarray(rows, dtype=self.dtype) - self.mean) / self.scale @ self.coef.T + self.intercept
        scores -= scores.max(axis=1, keepdims=True)  # exp() of large scores would overflow
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)


def load_model(task_root: Path):
    """The model in the function's code folder (``LAMBDA_TASK_ROOT``): ``model.joblib``, or in the
    lighter images of step 7 ``model.onnx`` (ONNX Runtime) or ``model.json`` (NumPy alone)."""
    if (task_root / "model.onnx").exists():
        return OnnxModel(task_root / "model.onnx")
    if (task_root / "model.json").exists():
        return NumpyModel(task_root / "model.json")
    import joblib  # imported here, so that the ONNX image needs no joblib

    return joblib.load(task_root / "model.joblib")
