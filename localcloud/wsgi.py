"""Small WSGI helpers shared by the edge's handlers: read a request, write a response."""

from __future__ import annotations

import json
from http import HTTPStatus
from collections.abc import Callable, Iterable, Iterator

StartResponse = Callable[..., object]
REASONS = {status.value: status.phrase for status in HTTPStatus}
CHUNK = 256 * 1024


def status_line(code: int) -> str:
    return f"{code} {REASONS.get(code, 'Unknown')}"


def read_body(environ: dict) -> bytes:
    """The whole request body (Content-Length or chunked)."""
    return b"".join(body_chunks(environ))


def body_chunks(environ: dict) -> Iterator[bytes]:
    """The request body in chunks, without ever reading past its end."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH", "")
    if length:
        remaining = int(length)
        while remaining > 0:
            chunk = stream.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
    elif environ.get("wsgi.input_terminated") or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        while chunk := stream.read(CHUNK):
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
