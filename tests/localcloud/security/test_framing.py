"""Findings L3, L6: the edge frames requests as RFC 9112 says, and judges an absolute-form target's authority."""

from __future__ import annotations

import re
import socket

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("lab", ["host"], indirect=True)]


def exchange(lab, raw: bytes) -> list[bytes]:
    """Send ``raw`` on one connection; every answer's status line until the stand-in closes it."""
    with socket.create_connection(("127.0.0.1", lab.cloud.port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            received += b"<still open>"
    return re.findall(rb"HTTP/1\.1 \d{3} [^\r]*|<still open>", received)


def request(lab, *headers: str, target: str = "/_localcloud/health", body: bytes = b"") -> bytes:
    head = [f"POST {target} HTTP/1.1", f"Host: 127.0.0.1:{lab.cloud.port}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def smuggled(lab) -> bytes:
    return f"GET /_localcloud/status HTTP/1.1\r\nHost: 127.0.0.1:{lab.cloud.port}\r\nConnection: close\r\n\r\n".encode()


@pytest.mark.parametrize("headers", [["Content-Length: -1"], ["Content-Length: abc"], ["Content-Length: 1e3"],
                                     ["Content-Length: 2", "Content-Length: 100"], ["Content-Length: 2, 3"],
                                     ["Transfer-Encoding: gzip"], ["Transfer-Encoding: chunked, gzip"]],
                         ids=["negative", "not a number", "exponent", "conflicting duplicates", "conflicting list",
                              "not chunked", "chunked not last"])
def test_unframeable_requests_answer_400_and_close(lab, headers):
    answers = exchange(lab, request(lab, *headers, body=smuggled(lab)))
    assert answers == [b"HTTP/1.1 400 Bad Request"]  # and the "body" is never taken for a second request


def test_identical_duplicate_lengths_frame_the_body(lab):
    body = b"{}"
    answers = exchange(lab, request(lab, "Content-Length: 2", "Content-Length: 2", body=body) + smuggled(lab))
    assert len(answers) == 2 and answers[0].split()[1] != b"400" and answers[1] == b"HTTP/1.1 200 OK", answers


@pytest.mark.parametrize("target", ["http://evil.example/_localcloud/status", "http://evil.example",
                                    "http://127.0.0.1:1/_localcloud/status", "HTTP://evil.example/_localcloud/status"])
def test_an_absolute_target_naming_another_host_is_refused(lab, target):
    raw = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{lab.cloud.port}\r\nConnection: close\r\n\r\n".encode()
    assert exchange(lab, raw) == [b"HTTP/1.1 403 Forbidden"]


def test_an_absolute_target_naming_the_stand_in_is_served(lab):
    target = f"http://127.0.0.1:{lab.cloud.port}/_localcloud/status"
    raw = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{lab.cloud.port}\r\nConnection: close\r\n\r\n".encode()
    assert exchange(lab, raw) == [b"HTTP/1.1 200 OK"]
