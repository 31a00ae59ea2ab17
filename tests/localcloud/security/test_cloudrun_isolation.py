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
INTRUDER = Path(__file__).resolve().parents[1] / "functions" / "intruder"
REPO = Path(__file__).resolve().parents[3]
NO_CAPABILITIES = "0000000000000000"
PARENT = "projects/lc-tests/locations/asia-south1"


def deploy(lab, context: Path, name: str, dockerfile: str | None = None):
    """Build ``context`` (with ``dockerfile`` when given), push it and deploy it as service NAME-TAG without
    --allow-unauthenticated; yields the service and its client, then deletes both the service and the image."""
    tag = uuid.uuid4().hex[:6]
    pushed = f"{lab.host}/asia-south1-docker.pkg.dev/lc-tests/tests/{name}:{tag}"
    build = ["build", "--network", "host", "--quiet", "--tag", pushed, *(["--file", "-"] if dockerfile else []),
             str(context)]
    for command in (build, ["push", "--quiet", pushed]):
        done = subprocess.run(["docker", *command], capture_output=True, text=True, timeout=600, input=dockerfile)
        assert done.returncode == 0, done.stderr
    services = run_v2.ServicesClient(transport="rest", credentials=AnonymousCredentials(),
                                     client_options=ClientOptions(api_endpoint=lab.endpoint))
    container = run_v2.Container(image=pushed.split("/", 1)[1],
                                 resources=run_v2.ResourceRequirements(limits={"memory": "256Mi", "cpu": "1"}))
    created = services.create_service(parent=PARENT, service_id=f"{name}-{tag}", service=run_v2.Service(
        template=run_v2.RevisionTemplate(containers=[container]))).result(timeout=180)
    yield created, services
    services.delete_service(name=created.name).result(timeout=60)
    subprocess.run(["docker", "rmi", "--force", pushed], capture_output=True)


@pytest.fixture
def private_service(lab, cloudrun_base):
    """A service of the probe image, deployed without --allow-unauthenticated; deleted afterwards."""
    yield from (created for created, _ in deploy(lab, PROBE, "private"))


@pytest.fixture
def intruder_service(lab, cloudrun_base):
    """A public service running the intruder handler (tests/localcloud/functions/intruder/serve.py)."""
    dockerfile = f"FROM {cloudrun_base}\nCOPY app.py serve.py /srv/\nCMD [\"python3\", \"/srv/serve.py\"]\n"
    for created, services in deploy(lab, INTRUDER, "intruder", dockerfile):
        policy = services.get_iam_policy(request={"resource": created.name})
        policy.bindings.add(role="roles/run.invoker", members=["allUsers"])  # --allow-unauthenticated
        services.set_iam_policy(request={"resource": created.name, "policy": policy})
        yield created


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


@pytest.mark.parametrize("lab", ["docker"], indirect=True)
def test_a_cloud_run_instance_reaches_nothing_gains_nothing_and_is_held_to_its_limits(lab, intruder_service):
    # given: a server of the host's loopback, an abstract socket of the host, the grader's files
    with socket.create_server(("127.0.0.1", 0)) as server, socket.socket(socket.AF_UNIX) as abstract:
        abstract.bind(f"\0localcloud-tests-{uuid.uuid4().hex}")
        abstract.listen()
        event = {"connect": [["127.0.0.1", lab.cloud.port], ["127.0.0.1", server.getsockname()[1]]], "edge": True,
                 "read": [str(REPO / "lab_solution" / "app.py"), "/var/run/docker.sock",
                          "@" + abstract.getsockname()[1:].decode()],
                 "shm": 0x5EC0DE00, "user_namespace": True, "threads": 1100, "cpu_quota": True}
        # when: the instance's code tries them all
        answer = requests.post(intruder_service.uri + "/", json=event, timeout=120)
    # then
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["interfaces"] == ["lo"] and "connected" not in report["connect"] and report["edge"] != 200, report
    assert [result for result in report["read"].values() if result in ("read", "connected")] == [], report
    assert report["uid"] != 0 and (report["CapEff"], report["CapBnd"], report["NoNewPrivs"]) == (
        NO_CAPABILITIES, NO_CAPABILITIES, "1"), report
    assert report["user_namespace"] == "refused" and report["threads"] < 1024, report
    assert report["cpu_quota"] != "max" and isinstance(report["shm"], int), report
