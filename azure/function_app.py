"""The Iris model as an Azure Function: Python v2 programming model, one HTTP trigger.

Azure Functions is event-driven: a *trigger* (here HTTP, ``POST /api/predict``) starts each
execution, and *bindings* connect inputs and outputs (the HTTP response here) without client
code. As for Lambda and Cloud Run, the answers are the Lambda handler's: this module imports
``app`` (step 2), so the model loads once per worker, and ``labkit.serving`` reads the request.

``python -m labkit.azure_functions`` stages the folder the host runs (this file, ``host.json``,
``local.settings.json``, the requirements, ``app.py``, ``labkit/`` and the model) in ``build/azure``.
Running it needs the Functions host: Azure Functions Core Tools (``func start``) locally, or a
Function App in Azure; the lab does not run the host, it tests this module with the
``azure-functions`` package's own request and response types.
"""

from __future__ import annotations

import json
import uuid

import app as handler  # step 2's module: the model (loaded here, once per worker) and predict()
import azure.functions as func

from labkit import serving
from labkit.serving import ClientError

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)  # public, as --allow-unauthenticated
_cold_start = True  # the first execution in this worker waited for it to start


def features(req: func.HttpRequest) -> list[float]:
    """The four measurements a request asks about (raises ClientError for the client's mistakes)."""
    if req.method.upper() != "POST":
        raise ClientError(405, f"method {req.method.upper()} is not allowed; use POST")
    return serving.parse_features(serving.parse_json(req.get_body()))


# Every method reaches the function, so that a GET is answered 405 with a message, as by the Lambda handler.
@app.route(route="predict", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def predict(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Answer one flower: ``200 {"prediction": ..., "version": "v1", "cold_start": ...}`` or ``4xx {"error": ...}``."""
    global _cold_start
    cold, _cold_start = _cold_start, False
    request_id = getattr(context, "invocation_id", None) or uuid.uuid4().hex
    status, body = serving.answer(lambda: features(req), handler.predict, version=handler.VERSION, cold=cold,
                                  request_id=request_id)  # its log line goes to Application Insights
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json",
                             headers={"X-Cold-Start": str(cold).lower(), "X-Request-Id": request_id})
