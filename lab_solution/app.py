"""Step 2: the AWS Lambda handler that serves the Iris model.

Lambda imports this module once per execution environment (the *cold start*), then
calls :func:`handler` for every request that environment serves (*warm* calls). So
the model is loaded here, at module scope, exactly once, and ``handler`` only
reads the request, predicts and answers.

Reading and validating the request is given (``labkit.serving``): it turns an API
Gateway HTTP API event (payload 2.0 or 1.0) or a direct invoke into four measurements,
or raises ``ClientError`` (a 4xx with a message) for anything the client got wrong.

Answer: ``200 {"prediction": "setosa", "probabilities": {...}, "version": "v1", "cold_start": true}``
or ``4xx {"error": "..."}``, always with the headers ``Content-Type: application/json``,
``X-Cold-Start`` (``true``/``false``) and ``X-Request-Id`` (Lambda's request id, which names
the request in the logs); every request logs one JSON line to CloudWatch.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path

from labkit import serving
from labkit.serving import ClientError

VERSION = "v1"

# Module scope runs once per execution environment: pay for the model load at the cold
# start, not on every request. LAMBDA_TASK_ROOT is /var/task in a Lambda image.
TASK_ROOT = Path(os.environ.get("LAMBDA_TASK_ROOT", Path(__file__).resolve().parent))
# BEGIN SOLUTION: load the model once, here at module scope, with serving.load_model(TASK_ROOT).
MODEL = serving.load_model(TASK_ROOT)
# END SOLUTION (exercise: MODEL = Unfinished("exercises/app.py MODEL (module scope)"))
# The first request of an environment waited for INIT, unless provisioned concurrency ran
# INIT ahead of any traffic.
_cold_start = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "provisioned-concurrency"


def predict(features: list[float]) -> dict:
    """The species and class probabilities for one flower (four measurements in cm).

    Returns:
        ``{"prediction": "setosa", "probabilities": {"setosa": 0.98, "versicolor": 0.02, "virginica": 0.0}}``:
        the most probable of ``MODEL.classes_`` and every class's probability, rounded to 4 places.
    """
    # BEGIN SOLUTION: MODEL.predict_proba([features])[0] gives one probability per MODEL.classes_; return the two keys.
    probabilities = MODEL.predict_proba([features])[0]
    best = int(probabilities.argmax())
    return {
        "prediction": str(MODEL.classes_[best]),
        "probabilities": {str(c): round(float(p), 4) for c, p in zip(MODEL.classes_, probabilities)},
    }
    # END SOLUTION


def handler(event, context):
    """Lambda entry point: answer one request in API Gateway's proxy-response format.

    Returns:
        ``{"statusCode": int, "headers": {...}, "body": "<JSON text>"}`` (see the module docstring).
    """
    global _cold_start
    cold, _cold_start = _cold_start, False
    started = time.perf_counter()
    request_id = getattr(context, "aws_request_id", None)
    try:
        features = serving.read_request(event)
        status, body = 200, {**predict(features), "version": VERSION, "cold_start": cold}
    except ClientError as error:
        status, body = error.status, {"error": str(error)}
    except Exception as error:  # a bug of ours, not the client's: log the traceback, answer without it
        traceback.print_exc()
        status, body = 500, serving.internal_error(error, request_id)
    print(serving.log_line(request_id, status, started, cold))
    # BEGIN SOLUTION: return statusCode, headers (Content-Type, X-Cold-Start as "true"/"false", X-Request-Id) and body as a JSON string.
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "X-Cold-Start": str(cold).lower(),
                    "X-Request-Id": str(request_id)},
        "body": json.dumps(body),
    }
    # END SOLUTION
