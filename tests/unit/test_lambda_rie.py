"""lambda_rie: the one way the lab, the grader, the stand-in and the tests run the RIE, and the one poll loop."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

from lambda_rie import WaitTimeout, free_port, listening, wait_for
from lambda_rie.run import INVOKE_PATH, docker_command, host_command, invoke, payload

ADDRESSES = ["--runtime-interface-emulator-address", "127.0.0.1:9100", "--runtime-api-address", "127.0.0.1:9101"]


class FakeClock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_docker_mode_runs_the_rie_as_entrypoint_on_the_hosts_loopback():
    command = docker_command("img:1", ["/lambda-entrypoint.sh", "app.handler"], 9100, 9101, options=["--rm"],
                             host_network=True)
    assert command == ["docker", "run", "--rm", "--network", "host", "--entrypoint", "/usr/local/bin/aws-lambda-rie",
                       "img:1", *ADDRESSES, "/lambda-entrypoint.sh", "app.handler"]


def test_docker_mode_without_host_networking_publishes_the_rie_on_a_loopback_port():
    command = docker_command("img:1", ["app.handler"], 9100, 9101, host_network=False)
    assert command == ["docker", "run", "--publish", "127.0.0.1:9100:8080", "--entrypoint", "/usr/local/bin/aws-lambda-rie",
                       "img:1", "--runtime-interface-emulator-address", "0.0.0.0:8080",
                       "--runtime-api-address", "127.0.0.1:9001", "app.handler"]


def test_an_isolated_container_has_no_network_and_the_rie_listens_on_its_own_loopback():
    command = docker_command("img:1", ["app.handler"], 8080, 9001, host_network=True, isolated=True)
    assert command == ["docker", "run", "--network", "none", "--entrypoint", "/usr/local/bin/aws-lambda-rie", "img:1",
                       "--runtime-interface-emulator-address", "127.0.0.1:8080",
                       "--runtime-api-address", "127.0.0.1:9001", "app.handler"]


def test_docker_mode_can_merge_the_rie_output_into_one_stream_through_a_shell():
    command = docker_command("img:1", ["app.handler"], 9100, 9101, docker="podman", rie="/opt/rie", host_network=True,
                             merge_output=True)
    assert command[:6] == ["podman", "run", "--network", "host", "--entrypoint", "/bin/sh"]
    assert command[6:] == ["img:1", "-c", 'exec 2>&1; exec "$@"', "sh", "/opt/rie", *ADDRESSES, "app.handler"]


def test_host_mode_runs_awslambdaric_with_the_given_python_under_the_rie():
    assert host_command("/cache/rie", "app.handler", 9100, 9101, python="/usr/bin/python3") == [
        "/cache/rie", *ADDRESSES, "/usr/bin/python3", "-m", "awslambdaric", "app.handler"]


def test_wait_for_returns_the_first_truthy_value_and_sleeps_between_polls():
    clock, answers = FakeClock(), iter([None, 0, "ready"])
    assert wait_for(lambda: next(answers), 10, interval=0.5, clock=clock, sleep=clock.sleep) == "ready"
    assert clock.sleeps == [0.5, 0.5]


def test_wait_for_polls_once_more_when_the_time_is_up_then_names_what_it_waited_for():
    clock, polls = FakeClock(), []
    with pytest.raises(WaitTimeout, match="the registry answering did not happen within 1 s"):
        wait_for(lambda: polls.append(clock()), 1, interval=0.4, what="the registry answering", clock=clock,
                 sleep=clock.sleep)
    assert polls == pytest.approx([0, 0.4, 0.8, 1.2])
    assert issubclass(WaitTimeout, TimeoutError)


def test_a_condition_that_raises_ends_the_wait():
    clock = FakeClock()

    def exited():
        raise RuntimeError("the emulator exited")

    with pytest.raises(RuntimeError, match="exited"):
        wait_for(exited, 10, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []


def test_free_port_is_a_loopback_port_nobody_listens_on():
    port = free_port()
    assert not listening(port, timeout=0.5)
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert listening(port, timeout=0.5)


class _Rie(http.server.BaseHTTPRequestHandler):
    """An invoke API that echoes the event, or answers 502 as the RIE does when the runtime exits."""

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = 502 if b"exit" in body else 200
        answer = b'{"errorType":"Runtime.ExitError"}' if status == 502 else body
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer if self.path == INVOKE_PATH else b"wrong path")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_rie():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Rie)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_invoke_posts_the_event_and_returns_an_error_status_instead_of_raising(fake_rie):
    assert invoke(fake_rie, {"n": 1}, timeout=5) == (200, b'{"n": 1}')
    status, body = invoke(fake_rie, {"fault": "exit"}, timeout=5)
    assert status == 502 and payload(body) == {"errorType": "Runtime.ExitError"}
    assert invoke(fake_rie, {"n": 12345}, timeout=5, limit=4) == (200, b'{"n"')


def test_payload_is_json_or_the_text_the_rie_sent():
    assert payload(b'{"statusCode": 200}') == {"statusCode": 200}
    assert payload(b"Task timed out after 2.00 seconds") == "Task timed out after 2.00 seconds"
