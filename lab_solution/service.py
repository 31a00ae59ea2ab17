"""Step 9: the Iris model as a Cloud Run service: FastAPI, served by uvicorn on ``$PORT`` (``service:service``).

Cloud Run starts the container, sends HTTP to the port in ``PORT`` (8080 by default) and
lets one instance serve up to 80 requests at once, where Lambda gives each request its
own execution environment. The answers are the Lambda handler's: this module imports
``app`` (step 2), so the model loads once per instance, at import, and ``app.predict``
answers; reading and validating the request is ``labkit.serving``'s, as for Lambda.

``POST /predict`` with ``{"sepal_length": 5.1, ...}`` answers ``200 {"prediction": "setosa",
"probabilities": {...}, "version": "v1", "cold_start": true}`` or ``4xx {"error": "..."}``,
with the headers ``X-Cold-Start`` and ``X-Request-Id`` as the Lambda handler sends them, and
``X-Instance-Id``, which tells the instances apart (step 9's concurrency experiment counts them).
"""

from __future__ import annotations

import uuid

import app as handler  # step 2's module: the model (loaded here, once per instance) and predict()
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from labkit import serving

service = FastAPI(title="Iris classifier", docs_url=None, redoc_url=None, openapi_url=None)
_cold_start = True  # the first request of an instance waited for the container to start
INSTANCE_ID = uuid.uuid4().hex[:8]  # names this instance in X-Instance-Id, to count instances from outside


@service.exception_handler(HTTPException)
async def http_error(request: Request, error: HTTPException) -> JSONResponse:
    """FastAPI's own 404 and 405 answer ``{"error": ...}`` like every other client mistake."""
    message = f"method {request.method} is not allowed; use POST" if error.status_code == 405 else str(error.detail)
    return JSONResponse({"error": message}, status_code=error.status_code, headers=error.headers)


async def read_body(request: Request) -> bytes:
    """The request body, but never more than one byte past ``serving.MAX_BODY_BYTES`` (parse_json answers 413)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > serving.MAX_BODY_BYTES:
            break
    return body


@service.post("/predict")
async def predict(request: Request) -> JSONResponse:
    """Answer one flower (see the module docstring)."""
    global _cold_start
    cold, _cold_start = _cold_start, False
    # Cloud Run names each request in X-Cloud-Trace-Context (TRACE_ID/SPAN_ID;o=1), as Lambda does with its request id.
    request_id = request.headers.get("x-cloud-trace-context", "").split("/")[0] or uuid.uuid4().hex
    raw = await read_body(request)
    # BEGIN SOLUTION: status, body = serving.answer(...) with a function reading the features (serving.parse_features of serving.parse_json(raw)), handler.predict, handler.VERSION, cold and request_id; return a JSONResponse of body with that status and the headers X-Cold-Start ("true"/"false"), X-Request-Id and X-Instance-Id.
    status, body = serving.answer(lambda: serving.parse_features(serving.parse_json(raw)), handler.predict,
                                  version=handler.VERSION, cold=cold, request_id=request_id)
    return JSONResponse(body, status_code=status,
                        headers={"X-Cold-Start": str(cold).lower(), "X-Request-Id": request_id,
                                 "X-Instance-Id": INSTANCE_ID})
    # END SOLUTION
