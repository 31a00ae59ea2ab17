"""API Gateway HTTP API data plane, for local use: ``/_aws/execute-api/API_ID[/STAGE]/PATH``.

The ``$default`` stage serves at the API's root, a named stage under its name. A request
goes stage -> route -> AWS_PROXY integration -> Lambda, and every failure answers what
API Gateway answers:

=====================================================  ====  ===============================
situation                                              code  body
=====================================================  ====  ===============================
no stage or route matches                              404   ``{"message":"Not Found"}``
body over the 10 MB payload quota                      413   ``{"message":"Request Entity Too Large"}``
stage / route throttling limits exceeded               429   ``{"message":"Too Many Requests"}``
no ``lambda:InvokeFunction`` permission for the API,   500   ``{"message":"Internal Server Error"}``
or Lambda rejects the invoke (missing, throttled)
function error, timeout or malformed response          502   ``{"message":"Internal Server Error"}``
no answer within the integration timeout (30 s)        503   ``{"message":"Service Unavailable"}``
=====================================================  ====  ===============================
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from localcloud.aws import backends
from localcloud.aws.apigateway.events import GatewayRequest, MalformedResponse, event_v1, event_v2, http_response
from localcloud.aws.apigateway.routes import DEFAULT, RouteMatcher
from localcloud.aws.awslambda.catalog import Catalog
from localcloud.aws.awslambda.concurrency import Throttled
from localcloud.aws.awslambda.runtime import Runtime
from localcloud.aws.wire import AwsError
from localcloud.edge import wsgi

if TYPE_CHECKING:
    from localcloud.cloud import Cloud

LAMBDA_ARN = re.compile(r"arn:aws[\w-]*:lambda:(?P<region>[^:]+):(?P<account>\d{12}):function:(?P<name>[^:/]+)"
                        r"(?::(?P<qualifier>[^:/]+))?")
MESSAGES = {404: "Not Found", 413: "Request Entity Too Large", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Internal Server Error", 503: "Service Unavailable"}
MAX_INTEGRATION_TIMEOUT_S = 30.0
MAX_BODY = 10 * 1024 * 1024  # HTTP API quota: payload size 10 MB
MAX_EVENT = 6 * 1024 * 1024  # Lambda's synchronous payload quota: a larger event is refused before it runs


class TokenBucket:
    """API Gateway's throttling: a steady rate with a burst allowance (http-api-throttling.html)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.stamp = float(burst), clock()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's ArnLike: ``*`` any run of characters, ``?`` one character."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), arn) is not None


def api_may_invoke(fn, source_arns: list[str], account: str) -> bool:
    """Does the function's resource policy let API Gateway invoke it from one of ``source_arns``?"""
    for statement in fn.policy.statements:
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else actions or []
        principal = statement.get("Principal")
        services = principal.get("Service") if isinstance(principal, dict) else principal
        services = [services] if isinstance(services, str) else services or []
        if statement.get("Effect", "Allow") != "Allow" or not {"lambda:InvokeFunction", "lambda:*", "*"} & set(actions) \
                or not {"apigateway.amazonaws.com", "*"} & set(services):
            continue
        condition = statement.get("Condition", {})
        source_account = condition.get("StringEquals", {}).get("AWS:SourceAccount")
        if source_account and source_account != account:
            continue
        pattern = (condition.get("ArnLike") or condition.get("ArnEquals") or {}).get("AWS:SourceArn")
        if pattern is None or any(arn_matches(pattern, arn) for arn in source_arns):
            return True
    return False


class Gateway:
    """The data plane: reads moto's APIs and functions under the control plane's lock, invokes outside it."""

    def __init__(self, cloud: Cloud, catalog: Catalog, runtime: Runtime):
        self.catalog, self.runtime, self.edge_port, self.clock = catalog, runtime, cloud.port, cloud.clock
        self.lock, self.table = cloud.lock, cloud.table
        self.matchers: dict[tuple, RouteMatcher] = {}
        self.buckets: dict[tuple, TokenBucket] = {}

    def __call__(self, environ: dict, start_response: wsgi.StartResponse) -> list[bytes]:
        try:
            body = wsgi.read_body(environ, MAX_BODY)
        except wsgi.TooLarge:
            return self.error(start_response, 413, close=True)
        with self.lock:
            routed = self.route(environ, body)
            if isinstance(routed, int):
                return self.error(start_response, routed)
            request, integration, region, route = routed
            target = self.target(request, integration, region, route)
        if isinstance(target, int):
            status, headers, body = self.failure(target)
        else:
            status, headers, body = self.integrate(request, *target)
        return wsgi.respond(start_response, status, body, [*headers, ("apigw-requestid", request.request_id)],
                            content_type=None)

    def route(self, environ: dict, body: bytes):
        """(request, integration, region, route) for a request, or the status that refuses it."""
        api_id, rest = environ[wsgi.MATCH]["api"], environ[wsgi.MATCH]["rest"] or ""
        found = backends.find_api(api_id)
        if not found:
            return 404
        account, region, api = found
        rest = "/" + rest.encode("latin-1").decode("utf-8", "replace")  # WSGI's PATH_INFO is latin-1; AWS decodes UTF-8
        first = rest.split("/")[1]
        stage_name = first if first in api.stages and first != DEFAULT else DEFAULT
        stage = api.stages.get(stage_name)
        if stage is None or not (stage.auto_deploy or stage_name in self.table.api(api_id).stages):
            return 404
        path = rest[len(first) + 1:] or "/" if stage_name != DEFAULT else rest
        method = environ["REQUEST_METHOD"]
        routes = tuple((route.route_key, route.target or "") for route in api.routes.values())
        matcher = self.matchers.get(routes) or self.matchers.setdefault(routes, RouteMatcher(list(routes)))
        matched = matcher.match(method, path)
        if not matched or not matched[0].target.startswith("integrations/"):
            return 404
        route, parameters = matched
        if not self.admit(api_id, stage, route.route_key):
            return 429
        integration = api.integrations.get(route.target.split("/", 1)[1])
        request = GatewayRequest(
            method=method, raw_path=rest, query=environ.get("QUERY_STRING", ""),
            headers=[(name, value) for name, value in wsgi.request_headers(environ).items()] + [
                ("X-Forwarded-For", environ.get("REMOTE_ADDR", "127.0.0.1")), ("X-Forwarded-Proto", "http"),
                ("X-Forwarded-Port", str(self.edge_port))],
            body=body, source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            domain=environ.get("HTTP_HOST", f"127.0.0.1:{self.edge_port}"), account=account, api_id=api_id,
            stage=stage_name, route_key=route.route_key, resource_path=route.path,
            path_parameters=parameters, stage_variables=dict(stage.stage_variables or {}))
        return request, integration, region, route

    def target(self, request: GatewayRequest, integration, region: str, route):
        """(function spec, payload version, timeout) of the route's Lambda integration, or the failure status."""
        target = LAMBDA_ARN.search(integration.integration_uri or "") if integration else None
        if not target or integration.integration_type != "AWS_PROXY":
            return 500
        try:
            fn = self.catalog.function(target["account"], target["region"], target["name"], target["qualifier"])
            spec = self.catalog.spec(fn)
        except AwsError:
            return 500
        route_part = DEFAULT if route.route_key == DEFAULT else f"{route.method}{route.path}"
        base = f"arn:aws:execute-api:{region}:{request.account}:{request.api_id}/{request.stage}/"
        sources = [base + route_part, base + f"{request.method}{route.path}"]
        if not integration.credentials_arn and not api_may_invoke(fn, sources, request.account):
            return 500  # "Execution failed due to configuration error: Invalid permissions on Lambda function"
        if fn.state != "Active":
            return 500
        timeout = min((integration.timeout_in_millis or 30000) / 1000, MAX_INTEGRATION_TIMEOUT_S)
        return spec, integration.payload_format_version or "2.0", timeout

    def integrate(self, request: GatewayRequest, spec, version: str, timeout: float) -> tuple[int, list, bytes]:
        event = json.dumps(event_v2(request) if version == "2.0" else event_v1(request)).encode()
        if len(event) > MAX_EVENT:
            return self.failure(413)  # Lambda refuses the payload (RequestTooLargeException); nothing runs
        try:
            result = self.runtime.invoke(spec, event, answer_within=timeout)
        except Throttled:
            return self.failure(500)  # services-apigateway-errors.html: Lambda rejected the invocation
        if result.status == "unavailable":
            return self.failure(503)
        if result.function_error:
            return self.failure(502)
        try:
            return http_response(result.payload, version)
        except MalformedResponse:
            return self.failure(502)

    def admit(self, api_id: str, stage, route_key: str) -> bool:
        settings = {**(stage.default_route_settings or {}), **(stage.route_settings or {}).get(route_key, {})}
        rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
        if rate is None and burst is None:
            return True
        key = (api_id, stage.name, route_key, rate, burst)
        bucket = self.buckets.get(key) or self.buckets.setdefault(
            key, TokenBucket(float(rate or 0), int(burst or 0), self.clock))
        return bucket.take()

    @staticmethod
    def failure(status: int) -> tuple[int, list, bytes]:
        return status, [("Content-Type", "application/json")], json.dumps({"message": MESSAGES[status]}).encode()

    def error(self, start_response: wsgi.StartResponse, status: int, close: bool = False) -> list[bytes]:
        code, headers, body = self.failure(status)
        headers += [("Connection", "close")] if close else []
        return wsgi.respond(start_response, code, body, headers, content_type=None)
