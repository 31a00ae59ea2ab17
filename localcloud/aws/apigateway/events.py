"""HTTP request -> API Gateway event, and Lambda proxy response -> HTTP response.

Both payload format versions of HTTP APIs (http-api-develop-integrations-lambda.html):
2.0 (lower-cased headers, ``cookies``, ``rawPath``, ``requestContext.http``) and 1.0
(the REST API shape with ``multiValue*`` fields). A response that does not follow the
format is a *malformed Lambda proxy response*, which API Gateway answers with 502.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml")


class MalformedResponse(ValueError):
    """The function's answer is not a valid Lambda proxy response."""


@dataclass
class GatewayRequest:
    """What the gateway knows about one request once its route is chosen."""

    method: str
    raw_path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    domain: str
    account: str
    api_id: str
    stage: str
    route_key: str
    resource_path: str
    path_parameters: dict[str, str] = field(default_factory=dict)
    stage_variables: dict[str, str] = field(default_factory=dict)
    request_id: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(11)).decode()[:14] + "=")
    epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    @property
    def request_time(self) -> str:
        return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(self.epoch_ms / 1000))

    def user_agent(self) -> str:
        return next((value for name, value in self.headers if name.lower() == "user-agent"), "")

    def body_field(self) -> tuple[str | None, bool]:
        """(body, isBase64Encoded): text bodies as text; anything else base64, as API Gateway does, including
        bodies without a Content-Type and form posts (``curl -d`` without ``-H 'Content-Type: application/json'``)."""
        if not self.body:
            return None, False
        content_type = next((value for name, value in self.headers if name.lower() == "content-type"), "").lower()
        if any(kind in content_type for kind in TEXT_TYPES):
            try:
                return self.body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(self.body).decode(), True


def event_v2(request: GatewayRequest) -> dict:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        name = name.lower()
        if name == "cookie":
            cookies += [cookie.strip() for cookie in value.split(";") if cookie.strip()]
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    body, encoded = request.body_field()
    event = {
        "version": "2.0", "routeKey": request.route_key, "rawPath": request.raw_path, "rawQueryString": request.query,
        "cookies": cookies, "headers": headers, "queryStringParameters": query,
        "requestContext": {
            "accountId": request.account, "apiId": request.api_id, "domainName": request.domain,
            "domainPrefix": request.api_id,
            "http": {"method": request.method, "path": request.raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": request.source_ip, "userAgent": request.user_agent()},
            "requestId": request.request_id, "routeKey": request.route_key, "stage": request.stage,
            "time": request.request_time, "timeEpoch": request.epoch_ms},
        "body": body, "pathParameters": request.path_parameters, "isBase64Encoded": encoded,
        "stageVariables": request.stage_variables,
    }
    # AWS leaves out what a request does not have
    return {key: value for key, value in event.items() if value not in ({}, [], None)}


def event_v1(request: GatewayRequest) -> dict:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers.setdefault(name, []).append(value)
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        query.setdefault(name, []).append(value)
    body, encoded = request.body_field()
    return {
        "version": "1.0", "resource": request.resource_path, "path": request.raw_path, "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in headers.items()}, "multiValueHeaders": headers,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "requestContext": {
            "accountId": request.account, "apiId": request.api_id, "domainName": request.domain,
            "domainPrefix": request.api_id, "extendedRequestId": request.request_id,
            "httpMethod": request.method, "path": request.raw_path, "protocol": "HTTP/1.1",
            "identity": {"accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
                         "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                         "principalOrgId": None, "sourceIp": request.source_ip, "user": None,
                         "userAgent": request.user_agent(), "userArn": None},
            "requestId": request.request_id, "requestTime": request.request_time,
            "requestTimeEpoch": request.epoch_ms, "resourceId": None,
            "resourcePath": request.resource_path, "stage": request.stage},
        "pathParameters": request.path_parameters or None, "stageVariables": request.stage_variables or None,
        "body": body, "isBase64Encoded": encoded,
    }


def http_response(payload: bytes, version: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) from a function's answer; MalformedResponse when it breaks the format."""
    try:
        document = json.loads(payload)
    except ValueError:
        raise MalformedResponse("the function's answer is not JSON") from None
    if version == "2.0" and not (isinstance(document, dict) and "statusCode" in document):
        # 2.0 shorthand: any JSON without statusCode is a 200 application/json body
        return 200, [("Content-Type", "application/json")], payload
    if not isinstance(document, dict) or "statusCode" not in document:
        raise MalformedResponse("statusCode is missing")
    try:
        status = int(document["statusCode"])
    except (TypeError, ValueError):
        raise MalformedResponse("statusCode is not a number") from None
    headers = document.get("headers") or {}
    multi = document.get("multiValueHeaders") or {} if version == "1.0" else {}
    cookies = document.get("cookies") or [] if version == "2.0" else []
    body = document.get("body")
    if not isinstance(headers, dict) or not isinstance(multi, dict) or not isinstance(cookies, list) \
            or not (body is None or isinstance(body, str)) or not 100 <= status <= 599:
        raise MalformedResponse("headers, cookies or body have the wrong type")
    out = [(str(name), str(value)) for name, value in headers.items()]
    out += [(str(name), str(value)) for name, values in multi.items() for value in values
            if str(name).lower() not in {key.lower() for key in headers}]
    out += [("Set-Cookie", str(cookie)) for cookie in cookies]
    if not any(name.lower() == "content-type" for name, _ in out):
        out.append(("Content-Type", "application/json"))
    data = (body or "").encode()
    if document.get("isBase64Encoded") and body:
        try:
            data = base64.b64decode(body)
        except ValueError:
            raise MalformedResponse("isBase64Encoded is true but the body is not base64") from None
    return status, out, data
