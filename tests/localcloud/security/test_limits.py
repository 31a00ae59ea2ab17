"""Finding 4: every request size limit holds while the body is read, with AWS's answers."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

import pytest
import requests

from memory import PeakMemory

pytestmark = pytest.mark.integration
MB = 1024 * 1024


def raw_request(lab, path: str, headers: dict[str, str], send, timeout: float = 15) -> tuple[int, bytes]:
    """Send the head, then ``send(socket)`` in a thread; return (status, body) of the answer as soon as it comes."""
    sock = socket.create_connection(("127.0.0.1", lab.cloud.port), timeout=timeout)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{lab.cloud.port}\r\n"
    sock.sendall((head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())

    def feed():
        with contextlib.suppress(OSError):  # the stand-in closes the connection once it has answered
            send(sock)
    threading.Thread(target=feed, daemon=True).start()
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    length = int(next((line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
                      b"0"))
    while len(rest) < length:
        rest += sock.recv(65536)
    sock.close()
    return int(head.split()[1]), rest


def chunks_of(total: int):
    def send(sock):
        block = b"%x\r\n%s\r\n" % (MB, b"{" * MB)
        for _ in range(total // MB):
            sock.sendall(block)
        sock.sendall(b"0\r\n\r\n")
    return send


def one_chunk_of(total: int):
    def send(sock):
        sock.sendall(b"%x\r\n" % total)
        for _ in range(total // MB):
            sock.sendall(b"{" * MB)
    return send


def invocations(lab, name: str) -> int:
    return lab.counters(name).get("invocations", 0)


@pytest.fixture(scope="module")
def echo(lab):
    return lab.function("echo")


def test_invoke_refuses_a_large_content_length_before_the_body_arrives(lab, echo):
    started = time.monotonic()
    status, body = raw_request(lab, f"/2015-03-31/functions/{echo}/invocations", {"Content-Length": str(64 * MB)},
                               lambda sock: (sock.sendall(b"{" * 7 * MB), time.sleep(30)))
    assert status == 413 and time.monotonic() - started < 10
    assert json.loads(body)["message"] == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"


@pytest.mark.parametrize("send", [chunks_of(128 * MB), one_chunk_of(128 * MB)], ids=["1 MB chunks", "one chunk"])
def test_invoke_stops_reading_a_chunked_body_at_the_limit(lab, echo, send):
    with PeakMemory(lab.cloud.pid) as memory:
        status, _ = raw_request(lab, f"/2015-03-31/functions/{echo}/invocations", {"Transfer-Encoding": "chunked"}, send)
        time.sleep(1)  # what the stand-in does with the rest of the body
    assert status == 413
    assert memory.rise_mb < 40


def test_event_invocations_are_limited_to_1_mb(lab, echo):
    payload = json.dumps({"pad": "x" * (MB + 10)}).encode()
    with pytest.raises(lab.lam.exceptions.RequestTooLargeException):
        lab.lam.invoke(FunctionName=echo, InvocationType="Event", Payload=payload)
    assert lab.lam.invoke(FunctionName=echo, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202


def test_the_http_api_stops_reading_a_chunked_body_at_10_mb(lab, echo):
    url = lab.http_api(echo, route_key="POST /big")
    path = url.removeprefix(lab.endpoint) + "/big"
    before = invocations(lab, echo)
    status, body = raw_request(lab, path, {"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
                               chunks_of(20 * MB))
    assert (status, json.loads(body)) == (413, {"message": "Request Entity Too Large"})
    assert invocations(lab, echo) == before


def test_the_http_api_answers_a_payload_lambda_refuses_without_running_anything(lab, echo):
    url = lab.http_api(echo, route_key="POST /seven")
    before = lab.counters(echo)
    answer = requests.post(f"{url}/seven", data=b"{" * 7 * MB, headers={"Content-Type": "application/json"})
    after = lab.counters(echo)
    assert (answer.status_code, answer.json()) == (413, {"message": "Request Entity Too Large"})
    assert (after["invocations"], after["errors"]) == (before["invocations"], before["errors"])
