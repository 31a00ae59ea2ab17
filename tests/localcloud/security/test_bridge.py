"""localcloud.bridge: the stand-in reaches a container with no network, by entering its namespace or from beside it."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from workloads import descendants, host_listening_ports, own_network

from lambda_rie import wait_for
from localcloud import engine
from localcloud.bridge import Bridge, discard_folder, socket_folder

pytestmark = [pytest.mark.integration, pytest.mark.docker, pytest.mark.timeout(300)]


@pytest.fixture
def server(lambda_base):
    """A container with no network serving HTTP on its own 127.0.0.1:8080; removed afterwards."""
    name = f"lc-bridge-test-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(["docker", "run", "--detach", "--rm", "--name", name, "--network", "none",
                           "--entrypoint", "python3", lambda_base, "-m", "http.server", "8080", "--bind", "127.0.0.1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    yield name
    engine.remove([name])


@pytest.mark.parametrize("enter", [True, False], ids=["nsenter", "helper-container"])
def test_a_bridge_reaches_a_container_with_no_network_and_leaves_nothing_when_stopped(enter, server, lambda_base,
                                                                                       tmp_path):
    # given
    pid = wait_for(lambda: engine.pid(server), 30, what="the container running")
    folder = socket_folder(tmp_path, "bridge-test")  # a short private folder: tmp_path is too long for sockets
    bridge = Bridge(folder, uuid.uuid4().hex, 8080, tmp_path)
    # when
    bridge.start(pid, server, lambda_base, [], enter=enter)
    try:
        wait_for(bridge.ready, 60, interval=0.05, what="the forwarder's socket")
        connection = bridge.connection(10)
        connection.request("GET", "/")
        answer = connection.getresponse()
        # then: the server answers through the socket, and listens nowhere on the host's network
        assert answer.status == 200 and b"Directory listing" in answer.read()
        assert bridge.path.stat().st_mode & 0o077 == 0 and folder.stat().st_mode & 0o077 == 0
        assert own_network(pid) and host_listening_ports(descendants(pid)) == []
    finally:
        bridge.stop()
    # and: the forwarder, its socket folder and any helper container are gone
    assert not bridge.alive() and not bridge.folder.exists()
    assert subprocess.run(["docker", "ps", "--all", "--quiet", "--filter", f"name={server}-bridge"],
                          capture_output=True, text=True, timeout=30).stdout.strip() == ""
    discard_folder(folder, tmp_path)
