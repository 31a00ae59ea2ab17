"""The AWS control plane: moto's server app called in-process, with hooks where local must differ.

Routing copies moto's ``DomainDispatcherApplication`` (the SigV4 credential scope names
the service and region). A hook sees each call before moto (it may answer instead,
e.g. with an AWS error moto does not raise) and after (it may fix the answer, e.g.
point ECR URIs at the edge). Calls into moto are serialised by one lock, which the
state saver also takes, so a snapshot never sees half a change.
"""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass, field
from collections.abc import Callable
from urllib.parse import parse_qs, unquote

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server import werkzeug_app
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from localcloud.edge import wsgi

SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
READ_ONLY = re.compile(r"^(Get|List|Describe|BatchGet|Filter|Search|Lookup)")
MAX_REQUEST = 69905067  # Lambda's largest API request (CreateFunction with a 50 MB zip, base64-encoded)
DROPPED_HEADERS = ("content-length", "connection")


def signing_scope(environ: dict) -> tuple[str, str, str] | None:
    """(access key, region, service) from a SigV4 Authorization header."""
    match = SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return (match.group(1), match.group(2), match.group(3)) if match else None


def account_for(access_key: str) -> str:
    """moto's rule: a 12-digit access key names the account; anything else is the default account."""
    return access_key if access_key.isdigit() and len(access_key) == 12 else DEFAULT_ACCOUNT_ID


@dataclass
class Call:
    """One control-plane request, as the hooks see it."""

    service: str
    region: str
    account: str
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    action: str = ""
    scratch: dict = field(default_factory=dict)  # what a hook's ``before`` leaves for its ``after``
    _json: object = field(default=None, repr=False)

    @property
    def json(self) -> dict:
        if self._json is None:
            try:
                self._json = json.loads(self.body or b"{}")
            except ValueError:
                self._json = {}
        return self._json

    @property
    def mutating(self) -> bool:
        if self.action:
            return not READ_ONLY.match(self.action)
        return self.method not in ("GET", "HEAD")


@dataclass
class Answer:
    """A control-plane response a hook may read and change."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> dict:
        return json.loads(self.body or b"{}")

    def set_json(self, document: object) -> None:
        self.body = json.dumps(document).encode()


class Hook:
    """Base for a service's fixes: ``before`` may return an Answer to skip moto; ``after`` may edit one."""

    service = ""

    def before(self, call: Call) -> Answer | None:
        return None

    def after(self, call: Call, answer: Answer) -> None:
        return None


def aws_error(status: int, code: str, message: str, protocol: str = "rest-json", **extra) -> Answer:
    """An AWS error in the shape boto3 parses for the service's protocol."""
    if protocol == "json":  # ECR, CloudWatch Logs
        return Answer(status, [("Content-Type", "application/x-amz-json-1.1")],
                      json.dumps({"__type": code, "message": message, **extra}).encode())
    return Answer(status, [("x-amzn-ErrorType", code), ("Content-Type", "application/json")],
                  json.dumps({"Type": "User", "message": message, **extra}).encode())


class ControlPlane:
    """WSGI app: parse the call, run the hooks and moto, note mutations for the state saver."""

    def __init__(self, hooks: list[Hook], default_region: str, on_mutation: Callable[[], None]):
        werkzeug_app.DISABLE_GLOBAL_CORS = True  # moto's flask-cors echoes any Origin; AWS's APIs send no CORS headers
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.hooks = hooks
        self.default_region = default_region
        self.on_mutation = on_mutation
        self.lock = threading.RLock()

    def parse(self, environ: dict, body: bytes) -> Call:
        scope = signing_scope(environ)
        access_key, region, service = scope or ("", self.default_region, "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        action = target.rsplit(".", 1)[-1] if target else ""
        if not action and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        query = {key: values[-1] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
        return Call(service, region, account_for(access_key), environ["REQUEST_METHOD"],
                    unquote(environ.get("PATH_INFO", "")), query, body, action)

    def __call__(self, environ: dict, start_response: wsgi.StartResponse) -> list[bytes]:
        try:
            body = wsgi.read_body(environ, MAX_REQUEST)
        except wsgi.TooLarge:
            answer = aws_error(413, "RequestEntityTooLargeException", f"Request must be smaller than {MAX_REQUEST} bytes")
            return wsgi.respond(start_response, 413, answer.body, [*answer.headers, ("Connection", "close")],
                                content_type=None)
        call = self.parse(environ, body)
        hooks = [hook for hook in self.hooks if hook.service == call.service]
        answer = None
        for hook in hooks:
            answer = hook.before(call)
            if answer:
                break
        if answer is None:
            answer = self.call_moto(environ, body)
            for hook in hooks:
                hook.after(call, answer)
        if call.mutating and answer.ok:
            self.on_mutation()
        headers = [(k, v) for k, v in answer.headers
                   if k.lower() not in DROPPED_HEADERS and not k.lower().startswith("access-control-")]
        return wsgi.respond(start_response, answer.status, answer.body, headers, content_type=None)

    def call_moto(self, environ: dict, body: bytes) -> Answer:
        environ = dict(environ, **{"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
        captured: dict = {}

        def start_response(status: str, headers: list, exc_info=None):
            captured["status"], captured["headers"] = int(status.split()[0]), headers

        with self.lock:
            chunks = self.moto(environ, start_response)
            try:
                out = b"".join(chunks)
            finally:
                getattr(chunks, "close", lambda: None)()
        return Answer(captured["status"], captured["headers"], out)
