"""localcloud.relay into a workload (the bridge), run here in this test's own namespace; its way out of a sandbox is
tests/checks/test_sandbox_jail.py's, and of a build's gate tests/checks/test_build_containment.py's."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
import threading

import pytest

from lambda_rie import WaitTimeout, wait_for
from localcloud.bridge import RELAY, UnixHTTPConnection


def stop(listener: socket.socket) -> None:
    """Stop listening now (a bare close would wait for the accept blocked in the server's thread)."""
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()


def read_request(connection: socket.socket) -> bytes:
    """One whole request: its head, then as many bytes as its Content-Length says (they may come apart)."""
    request = b""
    while b"\r\n\r\n" not in request and (chunk := connection.recv(65536)):
        request += chunk
    head, _, body = request.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length and (chunk := connection.recv(65536)):
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def upstream():
    """An HTTP-ish server on a free loopback port that answers every request with what it read, then closes."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()  # free again: the forwarder must wait until something listens

    def serve(listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                request = read_request(connection)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                                   % (len(request), request))

    def start() -> socket.socket:
        listener = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=serve, args=(listener,), daemon=True).start()
        return listener

    yield port, start


def test_the_socket_appears_only_once_the_port_listens_is_private_and_forwards_both_ways(tmp_path, upstream):
    # given: a forwarder started before anything listens
    port, start = upstream
    path = tmp_path / "workload.sock"
    forwarder = subprocess.Popen([sys.executable, "-I", "-S", str(RELAY), "into", str(path), str(port)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        with pytest.raises(WaitTimeout):
            wait_for(path.exists, 0.3, interval=0.02)
        # when the workload starts listening
        listener = start()
        assert forwarder.stdout.readline() == b"ready\n"
        # then: the socket is the owner's alone, and a request travels there and back
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        connection = UnixHTTPConnection(str(path), timeout=5)
        connection.request("POST", "/2015-03-31/functions/function/invocations", body=b'{"x": 1}')
        answer = connection.getresponse()
        assert answer.status == 200 and answer.read().endswith(b'{"x": 1}')
        stop(listener)
        # and: the forwarder ends with the standard input the stand-in holds
        forwarder.stdin.close()
        assert forwarder.wait(10) == 0
    finally:
        forwarder.kill()
        forwarder.wait()


def test_a_connection_the_workload_refuses_is_closed_with_nothing_sent(tmp_path, upstream):
    # given: a forwarder whose workload listened once, then stopped
    port, start = upstream
    path = tmp_path / "workload.sock"
    listener = start()
    forwarder = subprocess.Popen([sys.executable, "-I", "-S", str(RELAY), "into", str(path), str(port)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert forwarder.stdout.readline() == b"ready\n"
        stop(listener)
        # when
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(5)
            client.connect(str(path))
            try:
                client.sendall(b"GET / HTTP/1.1\r\n\r\n")
                received = client.recv(100)
            except (ConnectionResetError, BrokenPipeError):  # closed before the request was read, or even sent
                received = b""
            # then
            assert received == b""
    finally:
        forwarder.kill()
        forwarder.wait()
