"""A Cloud Run instance is an untrusted client, and a private service is reachable only through the edge.

The probe image (tests/localcloud/gcp/probe) binds ``0.0.0.0:$PORT``, as most servers do. Deployed without
``allUsers``, the edge answers 403; nothing of the instance may listen on the host's network, where a
loopback client (a DNS-rebound page, another local user) would skip that check.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
import requests
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2
from workloads import container_pid, descendants, host_listening_ports, own_network

pytestmark = [pytest.mark.integration, pytest.mark.docker, pytest.mark.timeout(600)]
PROBE = Path(__file__).resolve().parents[1] / "gcp" / "probe"
PARENT = "projects/lc-tests/locations/asia-south1"


@pytest.fixture
def private_service(lab, cloudrun_base):
    """A service of the probe image, deployed without --allow-unauthenticated; deleted afterwards."""
    tag = uuid.uuid4().hex[:6]
    pushed = f"{lab.host}/asia-south1-docker.pkg.dev/lc-tests/tests/probe:{tag}"
    for command in (["build", "--network", "host", "--quiet", "--tag", pushed, str(PROBE)], ["push", "--quiet", pushed]):
        done = subprocess.run(["docker", *command], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    services = run_v2.ServicesClient(transport="rest", credentials=AnonymousCredentials(),
                                     client_options=ClientOptions(api_endpoint=lab.endpoint))
    container = run_v2.Container(image=pushed.split("/", 1)[1],
                                 resources=run_v2.ResourceRequirements(limits={"memory": "256Mi", "cpu": "1"}))
    created = services.create_service(parent=PARENT, service_id=f"private-{tag}", service=run_v2.Service(
        template=run_v2.RevisionTemplate(containers=[container]))).result(timeout=180)
    yield created
    services.delete_service(name=created.name).result(timeout=60)
    subprocess.run(["docker", "rmi", "--force", pushed], capture_output=True)


@pytest.mark.parametrize("lab", ["docker"], indirect=True)
def test_a_private_service_that_binds_every_interface_is_reachable_only_through_the_edge(lab, private_service):
    # given: the service's instance, and the port it was told to listen on
    revision = private_service.latest_ready_revision.rsplit("/", 1)[1]
    (name,) = subprocess.run(["docker", "ps", "--quiet", "--filter", f"label=localcloud.run.revision={revision}"],
                             capture_output=True, text=True, timeout=30).stdout.split()
    pid = container_pid(name)
    environment = subprocess.run(["docker", "inspect", "--format", "{{json .Config.Env}}", name], capture_output=True,
                                 text=True, timeout=30).stdout
    # when: a client without identity asks the edge, and a loopback client tries the instance's port directly
    through_edge = requests.get(private_service.uri + "/", timeout=30)
    direct = None
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 8080), timeout=2) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        direct = sock.recv(65536)
    # then: the edge refuses, and nothing of the instance listens on the host's network
    assert through_edge.status_code == 403
    assert '"PORT=8080"' in environment
    assert own_network(pid)
    assert host_listening_ports(descendants(pid)) == []
    assert direct is None or revision.encode() not in direct
