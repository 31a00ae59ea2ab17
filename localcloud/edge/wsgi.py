"""Small WSGI helpers shared by the edge's handlers: read a request, write a response."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus

StartResponse = Callable[..., object]
REASONS = {status.value: status.phrase for status in HTTPStatus}
CHUNK = 256 * 1024
MATCH = "localcloud.match"  # environ key: the edge route's match groups, for the app it hands the request to
BODY_LIMIT = "localcloud.body_limit"  # environ key: the edge route's body limit, which every read of the body keeps


def status_line(code: int) -> str:
    return f"{code} {REASONS.get(code, 'Unknown')}"


class TooLarge(Exception):
    """The request body is longer than the route allows (found before reading more than that)."""

    def __init__(self, limit: int):
        super().__init__(f"the request body is over {limit} bytes")
        self.limit = limit


class BadBody(ValueError):
    """The request body's framing broke while it was read (a malformed chunk): answered 400, and the connection closes."""


class Capped:
    """A request body no reader gets more than ``limit`` bytes of: TooLarge instead (before reading anything when
    the declared Content-Length is already over it). The edge wraps every request's ``wsgi.input`` in one."""

    def __init__(self, stream, limit: int, declared: int | None):
        self.stream, self.limit, self.seen = stream, limit, 0
        self.over = declared is not None and declared > limit

    def read(self, size: int = -1) -> bytes:
        return self._take(self.stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._take(self.stream.readline, size)

    def _take(self, read: Callable[[int], bytes], size: int) -> bytes:
        if self.over:
            raise TooLarge(self.limit)
        room = self.limit + 1 - self.seen  # one byte more than the limit tells a body that is over it
        data = read(room if size is None or size < 0 else min(size, room))
        self.seen += len(data)
        if self.seen > self.limit:
            self.over = True
            raise TooLarge(self.limit)
        return data


def cap_body(environ: dict, limit: int) -> None:
    """Hold this request's body to ``limit`` bytes, whoever reads it and however (:class:`Capped`)."""
    length = environ.get("CONTENT_LENGTH", "")
    environ[BODY_LIMIT] = limit
    environ["wsgi.input"] = Capped(environ["wsgi.input"], limit, int(length) if length.isdigit() else None)


def read_body(environ: dict, limit: int | None = None) -> bytes:
    """The whole request body (Content-Length or chunked); TooLarge once it passes ``limit`` bytes."""
    return b"".join(body_chunks(environ, limit))


def body_chunks(environ: dict, limit: int | None = None) -> Iterator[bytes]:
    """The request body in chunks, without ever reading past its end, nor more than ``limit`` + 1 bytes (nor more
    than the edge route's own limit, whichever is smaller)."""
    stream = environ["wsgi.input"]
    if environ.get(BODY_LIMIT) is not None and (limit is None or environ[BODY_LIMIT] < limit):
        limit = environ[BODY_LIMIT]
    length = environ.get("CONTENT_LENGTH", "")
    if length:
        remaining = int(length)
        if limit is not None and remaining > limit:
            raise TooLarge(limit)  # refused before a byte of it is read
    elif environ.get("wsgi.input_terminated") or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        remaining = None
    else:
        return
    seen = 0
    while remaining is None or remaining > 0:
        chunk = stream.read(CHUNK if remaining is None else min(CHUNK, remaining))
        if not chunk:
            return
        seen += len(chunk)
        if limit is not None and seen > limit:
            raise TooLarge(limit)
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def has_body(environ: dict) -> bool:
    return bool(environ.get("CONTENT_LENGTH", "0") not in ("", "0")
                or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower())


def request_headers(environ: dict) -> dict[str, str]:
    """Request headers with their usual spelling (``Content-Type``, ``X-Amz-Target`` ...)."""
    headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = environ[key]
    return headers


def respond(start_response: StartResponse, code: int, body: bytes = b"",
            headers: Iterable[tuple[str, str]] = (), content_type: str | None = "application/json") -> list[bytes]:
    """Send a complete response with its Content-Length."""
    out = [(name, value) for name, value in headers]
    if content_type and not any(name.lower() == "content-type" for name, _ in out):
        out.append(("Content-Type", content_type))
    out.append(("Content-Length", str(len(body))))
    start_response(status_line(code), out)
    return [body]


def respond_json(start_response: StartResponse, code: int, document: object,
                 headers: Iterable[tuple[str, str]] = ()) -> list[bytes]:
    return respond(start_response, code, json.dumps(document).encode(), headers)
