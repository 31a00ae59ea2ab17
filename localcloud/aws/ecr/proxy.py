"""``/v2/...`` on the edge: the Docker registry protocol, passed through to the registry.

Requests stream both ways (image layers are large). Two of them get ECR's rules first:
a push into a repository ECR does not have fails as on ECR (``NAME_UNKNOWN``), and a
manifest pushed successfully is recorded in ECR, so ``describe_images`` lists it. Asked
whether a repository has a layer (``HEAD`` of a blob), the registry first links in the layer
when it was seeded (:meth:`~localcloud.aws.ecr.registry.Registry.link_seeded`). The rules
come from :class:`PushRules`: the ECR hook, or a wrapper that lets another cloud's image
names through (Cloud Run's :class:`localcloud.gcp.images.Repositories`).

A manifest is read whole (its digest is recorded), so it is held to 4 MiB as distribution and ECR
hold it; a larger one is refused while it is read, with distribution's ``MANIFEST_INVALID``.
Blob uploads stream to the registry's storage, up to ECR's largest layer (their routes' limits,
declared in :mod:`localcloud.aws.ecr.urls`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

import urllib3

from localcloud.edge import wsgi

if TYPE_CHECKING:
    from localcloud.cloud import Cloud

MAX_MANIFEST = 4 * 1024 * 1024  # distribution's maxManifestBodySize; ECR's PutImage imageManifest, 4,194,304
MAX_LAYER = 52_000 * 1024 * 1024  # ECR's quota: maximum layer size, 52,000 MiB
UPLOAD_START = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/?$")
MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$")
BLOB = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-authorization",
              "proxy-authenticate", "trailer", "host", "content-length"}


def registry_error(start_response: wsgi.StartResponse, status: int, code: str, message: str,
                   detail: str | None = None, headers: tuple[tuple[str, str], ...] = ()) -> list[bytes]:
    body = json.dumps({"errors": [{"code": code, "message": message, "detail": detail}]}).encode()
    return wsgi.respond(start_response, status, body, [("Docker-Distribution-Api-Version", "registry/2.0"), *headers])


class PushRules(Protocol):
    """What the proxy asks of ECR about a push."""

    account: str

    def repository_exists(self, name: str) -> bool: ...

    def push_error(self, name: str, reference: str, manifest: bytes, digest: str) -> str | None: ...

    def record_push(self, name: str, reference: str, media_type: str, manifest: bytes, digest: str) -> None: ...


class RegistryProxy:
    def __init__(self, cloud: Cloud, rules: PushRules):
        self.registry = cloud.registry
        self.ecr = rules
        self.on_mutation = cloud.changed

    def __call__(self, environ: dict, start_response: wsgi.StartResponse):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if (method == "POST" and (upload := UPLOAD_START.match(path))
                and not self.ecr.repository_exists(upload["name"])):
            return self._name_unknown(start_response, upload["name"])
        if (method == "HEAD" and (blob := BLOB.match(path)) and blob["digest"] in self.registry.seeded
                and self.ecr.repository_exists(blob["name"])):
            self.registry.link_seeded(blob["name"], blob["digest"])
        if method == "PUT" and (manifest := MANIFEST.match(path)):
            return self._put_manifest(environ, start_response, manifest["name"], manifest["reference"])
        body = wsgi.body_chunks(environ) if wsgi.has_body(environ) else None
        return self._forward(environ, start_response, body)

    def _name_unknown(self, start_response: wsgi.StartResponse, name: str) -> list[bytes]:
        # ECR: "name unknown: The repository with name 'x' does not exist in the registry with id '123456789012'"
        return registry_error(start_response, 404, "NAME_UNKNOWN",
                              f"The repository with name '{name}' does not exist in the registry with id "
                              f"'{self.ecr.account}'")

    def _put_manifest(self, environ: dict, start_response: wsgi.StartResponse, name: str, reference: str):
        if not self.ecr.repository_exists(name):
            return self._name_unknown(start_response, name)
        try:
            manifest = wsgi.read_body(environ, MAX_MANIFEST)
        except wsgi.TooLarge:  # what distribution answers (http.MaxBytesReader's error as the detail)
            return registry_error(start_response, 400, "MANIFEST_INVALID", "manifest invalid",
                                  "http: request body too large", (("Connection", "close"),))
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        refusal = self.ecr.push_error(name, reference, manifest, digest)
        if refusal:
            return registry_error(start_response, 400, "TAG_INVALID", refusal)
        media_type = environ.get("CONTENT_TYPE", "").split(";")[0] or json.loads(manifest).get("mediaType", "")
        response = self._send(environ, manifest)
        if response.status == 201:
            self.ecr.record_push(name, reference, media_type, manifest, digest)
            self.on_mutation()
        return self._relay(start_response, response)

    def _forward(self, environ: dict, start_response: wsgi.StartResponse, body) -> Iterator[bytes]:
        return self._relay(start_response, self._send(environ, body))

    def _send(self, environ: dict, body) -> urllib3.BaseHTTPResponse:
        headers = {name: value for name, value in wsgi.request_headers(environ).items()
                   if name.lower() not in HOP_BY_HOP}
        chunked = body is not None and not isinstance(body, bytes) and not environ.get("CONTENT_LENGTH")
        if body is not None and environ.get("CONTENT_LENGTH"):
            headers["Content-Length"] = environ["CONTENT_LENGTH"]
        url = self.registry.url + environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            url += "?" + environ["QUERY_STRING"]
        return self.registry.http.urlopen(environ["REQUEST_METHOD"], url, body=body, headers=headers,
                                          chunked=chunked, preload_content=False, redirect=False)

    def _relay(self, start_response: wsgi.StartResponse, response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
        headers = [(name, value) for name, value in response.headers.items() if name.lower() not in HOP_BY_HOP]
        if response.headers.get("Content-Length"):
            headers.append(("Content-Length", response.headers["Content-Length"]))
        start_response(wsgi.status_line(response.status), headers)
        return self._stream(response)

    @staticmethod
    def _stream(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
        try:
            yield from response.stream(wsgi.CHUNK, decode_content=False)
        finally:
            response.release_conn()
