"""Lambda's Invoke API on the edge: ``POST /2015-03-31/functions/NAME/invocations``.

Handled here rather than in moto (which cannot run image functions): the request goes
straight to the runtime, and the answer is shaped as Lambda's (api/API_Invoke.html):
``X-Amz-Function-Error``, ``X-Amz-Log-Result`` (base64 of the last 4 KB of the log),
``X-Amz-Executed-Version``, and the errors Invoke documents.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

from localcloud.aws.awslambda.catalog import Catalog
from localcloud.aws.awslambda.concurrency import Throttled
from localcloud.aws.awslambda.runtime import Runtime
from localcloud.aws.wire import (
    AwsError,
    InvalidRequestContent,
    RequestTooLarge,
    ResourceConflict,
    TooManyRequests,
    account_for,
    signing_scope,
)
from localcloud.edge import wsgi

MAX_PAYLOAD = {"RequestResponse": 6 * 1024 * 1024, "DryRun": 6 * 1024 * 1024,  # gettingstarted-limits.html:
               "Event": 1024 * 1024}  # 6 MB synchronous, 1 MB asynchronous (256 KB before 2025)


class InvokeApi:
    def __init__(self, catalog: Catalog, runtime: Runtime, default_region: str):
        self.catalog = catalog
        self.runtime = runtime
        self.default_region = default_region

    def __call__(self, environ: dict, start_response: wsgi.StartResponse) -> list[bytes]:
        scope = signing_scope(environ)
        account, region = (account_for(scope[0]), scope[1]) if scope else (account_for(""), self.default_region)
        name = environ[wsgi.MATCH]["name"]
        query = environ.get("QUERY_STRING", "")
        qualifier = parse_qs(query).get("Qualifier", [None])[0] if query else None
        invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        limit = MAX_PAYLOAD.get(invocation_type, MAX_PAYLOAD["RequestResponse"])
        try:
            payload = wsgi.read_body(environ, limit) or b"{}"
        except wsgi.TooLarge:
            error = RequestTooLarge(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")
            return error_response(start_response, error, close=True)
        try:
            with self.catalog.lock:
                fn = self.catalog.function(account, region, name, qualifier)
                if fn.state != "Active":
                    raise ResourceConflict("The operation cannot be performed at this time. "
                                           f"The function is currently in the following state: {fn.state}")
                spec = self.catalog.spec(fn)
            check_json(payload)
        except AwsError as error:
            return error_response(start_response, error)
        if invocation_type == "DryRun":
            return wsgi.respond(start_response, 204, content_type=None)
        if invocation_type == "Event":
            request_id = self.runtime.invoke_async(spec, payload)
            return wsgi.respond(start_response, 202, headers=[("x-amzn-RequestId", request_id)], content_type=None)
        try:
            result = self.runtime.invoke(spec, payload, tail=environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail")
        except Throttled as throttle:
            return error_response(start_response, TooManyRequests("Rate Exceeded.", Reason=throttle.reason))
        headers = [("x-amzn-RequestId", result.request_id), ("X-Amz-Executed-Version", result.version)]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", result.function_error))
        if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail" and result.invocation:
            headers.append(("X-Amz-Log-Result", base64.b64encode(result.invocation.tail().encode()).decode()))
        return wsgi.respond(start_response, 200, result.payload, headers)


def check_json(payload: bytes) -> None:
    try:
        json.loads(payload)
    except ValueError as error:
        raise InvalidRequestContent(f"Could not parse request body into json: {error}") from None


def error_response(start_response: wsgi.StartResponse, error: AwsError, close: bool = False) -> list[bytes]:
    answer = error.answer()
    headers = answer.headers + ([("Connection", "close")] if close else [])
    return wsgi.respond(start_response, answer.status, answer.body, headers, content_type=None)
