"""Requests to a service, ``/_gcp/run/PROJECT/REGION/SERVICE/PATH`` (its own host's requests arrive so too).

In front of the container, as Cloud Run's front end does: 404 for a service that does not
exist, 403 unless ``allUsers`` may invoke it, 429 when no instance could take the request
within about 10 s at max-instances, 503 when no revision is ready or an instance failed to
start, 504 when the container does not answer within the revision's request timeout.
``PATH`` reaches the container unchanged (``/`` when empty), with the Host the client sent.

The container's answer is streamed to the client, never held whole. As on Cloud Run, an HTTP/1
answer that declares more than 32 MiB in its ``Content-Length`` is refused with a 500 (nothing of
it is read); a chunked answer streams, with no size limit (Cloud Run's quotas: 32 MiB "if not using
Transfer-Encoding: chunked"). The instance counts the request as in flight until its answer ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import urllib3

from localcloud.edge import wsgi

from .container import StartFailed
from .iam import FORBIDDEN, Policies
from .runtime import Runtime
from .scaler import NoInstance

PREFIX = "/_gcp/run/"
MAX_REQUEST_BYTES = 32 * 1024 * 1024  # Cloud Run's request size limit (HTTP/1)
MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # Cloud Run's HTTP/1 response size limit, for answers that are not chunked
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "trailer", "content-length",
              "date", "server"}  # the edge sends its own Date and Server; Host reaches the container, as on Cloud Run
# Cloud Run's plain-text answers
NO_INSTANCE = b"The request was aborted because there was no available instance."
TIMED_OUT = b"upstream request timeout"
UNAVAILABLE = b"Service Unavailable"
SERVER_ERROR = (b"<html><head><title>500 Server Error</title></head><body><h1>Error: Server Error</h1>"
                b"<h2>The server encountered an error and could not complete your request.<p>Please try again in "
                b"30 seconds.</h2></body></html>")  # Google's front end's page
NOT_FOUND = (b"<html><head><title>404 Page not found</title></head><body><h1>Error: Page not found</h1>"
             b"<h2>The requested URL was not found on this server.</h2></body></html>")


TOO_LARGE = object()


def read_limited(environ: dict, limit: int):
    """The request body (None when there is none), or TOO_LARGE as soon as it passes ``limit`` bytes."""
    if not wsgi.has_body(environ):
        return None
    if int(environ.get("CONTENT_LENGTH") or 0) > limit:
        return TOO_LARGE
    try:
        return wsgi.read_body(environ, limit)
    except wsgi.TooLarge:
        return TOO_LARGE


def relay(response: urllib3.BaseHTTPResponse, done) -> Iterator[bytes]:
    """The instance's answer, piece by piece as it comes; ``done()`` once it has ended (or the client left)."""
    try:
        yield from response.stream(wsgi.CHUNK, decode_content=False)
    finally:
        response.release_conn()
        done()


def service_of(path: str) -> tuple[str, str] | None:
    """(service name, path in the container) for a data-plane path, or None."""
    parts = path[len(PREFIX):].split("/", 3)
    if len(parts) < 3 or not all(parts[:3]):
        return None
    project, location, service = parts[:3]
    return f"projects/{project}/locations/{location}/services/{service}", "/" + (parts[3] if len(parts) > 3 else "")


class DataPlane:
    def __init__(self, runtime: Runtime, policies: Policies, exists):
        self.runtime, self.policies, self.exists = runtime, policies, exists

    def __call__(self, environ: dict, start_response: wsgi.StartResponse):
        found = service_of(environ.get("PATH_INFO", ""))
        if found is None or not self.exists(found[0]):
            return wsgi.respond(start_response, 404, NOT_FOUND, content_type="text/html; charset=UTF-8")
        name, path = found
        if not self.policies.public(name):
            return wsgi.respond(start_response, 403, FORBIDDEN.format(path=path).encode(),
                                content_type="text/html; charset=UTF-8")
        body = read_limited(environ, MAX_REQUEST_BYTES)
        if body is TOO_LARGE:
            return wsgi.respond(start_response, 413, b"Request Entity Too Large", content_type="text/plain")
        pool = self.runtime.pool(name)
        if pool is None:
            return wsgi.respond(start_response, 503, UNAVAILABLE, content_type="text/plain")
        try:
            instance, _cold = pool.acquire()
        except NoInstance:
            return wsgi.respond(start_response, 429, NO_INSTANCE, content_type="text/plain")
        except StartFailed:
            return wsgi.respond(start_response, 503, UNAVAILABLE, content_type="text/plain")
        try:
            url = path + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
            headers = {k: v for k, v in wsgi.request_headers(environ).items() if k.lower() not in HOP_BY_HOP}
            response = instance.container.http.request(environ["REQUEST_METHOD"], url, body=body, headers=headers,
                                                       timeout=urllib3.Timeout(total=pool.spec.timeout_s),
                                                       redirect=False, preload_content=False)
        except urllib3.exceptions.TimeoutError:
            pool.release(instance, timed_out=True)
            return wsgi.respond(start_response, 504, TIMED_OUT, content_type="text/plain")
        except urllib3.exceptions.HTTPError:  # the instance died under the request
            pool.release(instance)
            return wsgi.respond(start_response, 503, UNAVAILABLE, content_type="text/plain")
        except BaseException:
            pool.release(instance)
            raise
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_RESPONSE_BYTES:
            response.close()  # nothing of it is read: the connection to the instance closes
            response.release_conn()
            pool.release(instance)
            return wsgi.respond(start_response, 500, SERVER_ERROR, content_type="text/html; charset=UTF-8")
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP]
        if length.isdigit():
            headers.append(("Content-Length", length))
        start_response(wsgi.status_line(response.status), headers)
        return relay(response, lambda: pool.release(instance))
