"""The edge's HTTP server keeps its bounds: a late request head is cut off, a huge one refused, idle clients hold no thread."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from localcloud import settings
from localcloud.edge import wsgi
from localcloud.edge.cheroot_server import EdgeServer
from memory import PeakMemory
from polling import wait_for


def echo_length(environ: dict, start_response: wsgi.StartResponse) -> list[bytes]:
    return wsgi.respond_json(start_response, 200, {"length": len(wsgi.read_body(environ, 1024))})


@pytest.fixture
def edge(request):
    """The edge's server in this process, on a free loopback port, with ``EdgeBounds`` changed as the test asks."""
    bounds = dataclasses.replace(settings.EDGE, **getattr(request, "param", {}))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = EdgeServer(sock, echo_length, bounds)
    threading.Thread(target=server.safe_start, daemon=True).start()
    wait_for(lambda: server.ready, 10, "the edge server listening")
    yield sock.getsockname()[1]
    server.stop()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def receive(sock: socket.socket, until_closed: bool = True) -> bytes:
    """What the edge answers, until it closes the connection (or, unless ``until_closed``, until the answer's head)."""
    received = b""
    try:
        while (until_closed or b"\r\n\r\n" not in received) and (chunk := sock.recv(65536)):
            received += chunk
    except OSError:  # reset after the answer
        pass
    return received


@pytest.mark.parametrize("edge", [{"head_timeout_s": 0.5}], indirect=True)
def test_a_request_head_trickled_byte_by_byte_is_cut_off_at_the_head_timeout(edge):
    with socket.create_connection(("127.0.0.1", edge), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for byte in b"X-Trickle: " + b"a" * 200:  # 10 s of header at this pace
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except OSError:  # the edge shut the connection
            pass
        answer = receive(sock)
        elapsed = time.monotonic() - started
    assert status_of(answer) == 408
    assert elapsed < 2.5  # the head timeout (0.5 s), the deadline thread's tick and the trickle's own pace


@pytest.mark.parametrize("edge", [{"head_timeout_s": 0.5}], indirect=True)
def test_thirty_connections_trickling_heads_at_once_are_all_cut_off_at_the_head_timeout(edge):
    statuses, started = [], time.monotonic()

    def trickle():
        with socket.create_connection(("127.0.0.1", edge), timeout=10) as sock:
            with contextlib.suppress(OSError):  # the edge shut the connection
                sock.sendall(b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                for _ in range(200):  # 10 s of header at this pace
                    sock.sendall(b"a")
                    time.sleep(0.05)
            statuses.append(status_of(receive(sock)))

    threads = [threading.Thread(target=trickle) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert statuses == [408] * 30
    assert time.monotonic() - started < 5  # not the 10 s the trickle would take, let alone 130


@pytest.mark.parametrize("edge", [{"threads": 2}], indirect=True)
def test_connections_that_send_nothing_hold_no_thread(edge):
    silent = [socket.create_connection(("127.0.0.1", edge)) for _ in range(6)]  # three times the threads
    try:
        answer = requests.post(f"http://127.0.0.1:{edge}/", data=b"{}", timeout=5)
        assert (answer.status_code, answer.json()) == (200, {"length": 2})
    finally:
        for sock in silent:
            sock.close()


@pytest.mark.parametrize("edge", [{"max_head_bytes": 4096}], indirect=True)
def test_a_head_over_the_bound_is_refused_and_the_connection_closed(edge):
    with socket.create_connection(("127.0.0.1", edge), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Big: " + b"a" * 8192 + b"\r\n\r\n")
        assert status_of(receive(sock)) == 413


SERVER = """
import socket, sys
from localcloud.edge import wsgi
from localcloud.edge.cheroot_server import EdgeServer, return_large_blocks
def app(environ, start_response):
    return wsgi.respond_json(start_response, 200, {})
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
print(sock.getsockname()[1], flush=True)
return_large_blocks()
EdgeServer(sock, app).safe_start()
"""


@pytest.fixture
def edge_process():
    """The edge's server with the stand-in's bounds, alone in a process: (pid, port)."""
    child = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(child.stdout.readline())
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=1).ok, 10, "the edge server answering")
        yield child.pid, port
    finally:
        child.kill()
        child.wait()


def oversized_head(port: int, size: int) -> int:
    """Send a request whose header block is ``size`` bytes; the status of the answer."""
    fields = b"".join(b"X-Pad-%d: %s\r\n" % (index, b"a" * 1000) for index in range(size // 1000))
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        with contextlib.suppress(OSError):  # refused before all of it was sent
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields + b"\r\n")
        return status_of(receive(sock, until_closed=False))


def test_oversized_header_blocks_are_answered_413_without_the_server_growing(edge_process):
    pid, port = edge_process
    assert oversized_head(port, 1024 * 1024) == 413
    with PeakMemory(pid) as memory:
        statuses = [oversized_head(port, 8 * 1024 * 1024) for _ in range(4)]
    assert statuses == [413] * 4
    assert memory.rise_mb < 4 and memory.kept_mb < 2  # it keeps 64 KB of a head at most, and drops the rest unread


def test_forty_unfinished_huge_heads_at_once_hold_no_memory(edge_process):
    pid, port = edge_process
    fields = b"".join(b"X-Pad-%d: %s\r\n" % (index, b"a" * 1000) for index in range(6300))  # 6.3 MB, never ended
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=15) for _ in range(40)]
    try:
        with PeakMemory(pid) as memory:
            def send(sock):
                with contextlib.suppress(OSError):  # refused before all of it was sent
                    sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields)
            threads = [threading.Thread(target=send, args=(sock,)) for sock in sockets]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        statuses = [status_of(receive(sock, until_closed=False)) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    assert statuses == [413] * 40
    assert memory.rise_mb < 16 and memory.kept_mb < 4  # 64 KB of each head at most, not 40 x 6.3 MB


@pytest.mark.integration
@pytest.mark.parametrize("lab", ["host"], indirect=True)
def test_the_stand_in_refuses_an_oversized_head_and_an_overlong_request_line(lab):
    assert oversized_head(lab.cloud.port, 4 * settings.EDGE.max_head_bytes) == 413
    with socket.create_connection(("127.0.0.1", lab.cloud.port), timeout=15) as sock:
        target = "/_localcloud/health?" + "a" * settings.EDGE.max_head_bytes
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {lab.host}\r\n\r\n".encode())
        assert status_of(receive(sock)) == 414
    assert requests.get(f"{lab.endpoint}/_localcloud/health", timeout=10).status_code == 200
