"""Lambda events as AWS sends them, for the grader and the tests.

``apigw_http_v2.json`` and ``apigw_http_v1.json`` are API Gateway HTTP API events in
payload format 2.0 and 1.0 (shapes from the API Gateway developer guide,
"Working with AWS Lambda proxy integrations for HTTP APIs"); ``direct_invoke.json``
is what ``lambda.invoke`` passes when called with the request itself.
"""

from __future__ import annotations

import base64
import copy
import json
from functools import cache
from pathlib import Path

SHAPES = ("apigw_http_v2", "apigw_http_v1", "direct_invoke")
_HERE = Path(__file__).resolve().parent


@cache
def _template(shape: str) -> dict:
    return json.loads((_HERE / f"{shape}.json").read_text())


def load_event(shape: str = "apigw_http_v2", body: object = ..., *, raw_body: str | None = None,
               base64_encoded: bool = False, method: str | None = None) -> object:
    """A fresh copy of an event, optionally with another body or method.

    Args:
        shape: one of :data:`SHAPES`.
        body: a request object to send as JSON (for ``direct_invoke``, the event itself).
        raw_body: the body string exactly as sent (e.g. malformed JSON); wins over ``body``.
        base64_encoded: send the body base64-encoded, as API Gateway does for binary media.
        method: another HTTP method (gateway shapes only).
    """
    event = copy.deepcopy(_template(shape))
    if shape == "direct_invoke":
        return event if body is ... else body
    if raw_body is not None or body is not ...:
        event["body"] = raw_body if raw_body is not None else json.dumps(body)
    if base64_encoded and event["body"] is not None:
        event["body"] = base64.b64encode(event["body"].encode()).decode()
        event["isBase64Encoded"] = True
    if method is not None:
        if shape == "apigw_http_v2":
            event["requestContext"]["http"]["method"] = method
            event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} /predict"
        else:
            event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    return event
