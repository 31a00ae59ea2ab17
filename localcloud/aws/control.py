"""The AWS control plane: moto's server app called in-process, with hooks where local must differ.

Routing copies moto's ``DomainDispatcherApplication`` (the SigV4 credential scope names
the service and region). A hook sees each call before moto (it may answer instead,
e.g. with an AWS error moto does not raise) and after (it may fix the answer, e.g.
point ECR URIs at the edge); each service registers its own (:class:`localcloud.cloud.Service`).
Calls into moto are serialised by the cloud's one lock, which the state saver also takes,
so a snapshot never sees half a change.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

from moto.moto_server import werkzeug_app
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from localcloud.aws.wire import Answer, RequestEntityTooLarge, account_for, signing_scope
from localcloud.edge import wsgi

if TYPE_CHECKING:
    from localcloud.cloud import Cloud

READ_ONLY = re.compile(r"^(Get|List|Describe|BatchGet|Filter|Search|Lookup)")
MAX_REQUEST = 69905067  # Lambda's largest API request (CreateFunction with a 50 MB zip, base64-encoded)
DROPPED_HEADERS = ("content-length", "connection")


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


class Hook:
    """Base for a service's fixes: ``before`` may return an Answer to skip moto (or set ``call.body``, which
    moto then reads); ``after`` may edit moto's answer."""

    service = ""

    def before(self, call: Call) -> Answer | None:
        return None

    def after(self, call: Call, answer: Answer) -> None:
        return None


class ControlPlane:
    """WSGI app: parse the call, run the hooks and moto, note mutations for the state saver."""

    def __init__(self, cloud: Cloud):
        werkzeug_app.DISABLE_GLOBAL_CORS = True  # moto's flask-cors echoes any Origin; AWS's APIs send no CORS headers
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.hooks: list[Hook] = []
        self.default_region = cloud.region
        self.on_mutation = cloud.changed
        self.lock = cloud.lock

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
            answer = RequestEntityTooLarge(f"Request must be smaller than {MAX_REQUEST} bytes").answer()
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
            answer = self.call_moto(environ, call.body)
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
