"""Cloud Run's Admin API v2 in the stand-in, through the official client: services, revisions, IAM, contract."""

from __future__ import annotations

import json
import subprocess
import time
from urllib.parse import urlsplit

import pytest
import requests
from cloudrun_support import PARENT, PROJECT, REGION, counters, public, run, service
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2

from localcloud import process
from memory import PeakMemory

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]


def test_create_get_update_list_delete_with_operations(services, revisions, deploy, probe_image):
    # given a service created through its long-running operation
    created = deploy(service(probe_image))
    assert created.uri.startswith(f"http://{created.name.rsplit('/', 1)[1]}-")
    assert created.uri.endswith(f".{REGION}.run.localhost:{urlsplit(services.api_endpoint).port}")
    assert created.latest_ready_revision.startswith(created.name + "/revisions/")
    assert created.terminal_condition.state.name == "CONDITION_SUCCEEDED"
    # when it is read, listed and updated
    got = services.get_service(name=created.name)
    listed = [s.name for s in services.list_services(parent=PARENT)]
    changed = services.get_service(name=created.name)
    changed.template.containers[0].env.append({"name": "COLOUR", "value": "blue"})
    updated = services.update_service(service=changed).result(timeout=180)
    # then it has two revisions, the second one serving, with Cloud Run's defaults filled in
    assert got.template.max_instance_request_concurrency == 80 and got.template.timeout.seconds == 300
    assert created.name in listed
    assert updated.generation == 2 and updated.latest_ready_revision != created.latest_ready_revision
    names = [r.name for r in revisions.list_revisions(parent=created.name)]
    assert sorted(names) == sorted([created.latest_ready_revision, updated.latest_ready_revision])
    assert revisions.get_revision(name=updated.latest_ready_revision).containers[0].env[0].value == "blue"
    # when deleted, it is gone
    services.delete_service(name=created.name).result(timeout=60)
    with pytest.raises(exceptions.NotFound, match="does not exist"):
        services.get_service(name=created.name)


def test_port_is_8080_unless_the_revision_names_another_container_port(deploy, probe_image):
    # given: a service with Cloud Run's default port, and one whose container listens on 9090
    other = service(probe_image)
    other.template.containers[0].ports = [run_v2.ContainerPort(container_port=9090)]
    # when
    default = requests.get(deploy(service(probe_image)).uri + "/", timeout=30).json()
    custom = requests.get(deploy(other).uri + "/", timeout=30).json()
    # then: as on Cloud Run, every instance is told its own 8080 (or the configured port)
    assert (default["env"]["PORT"], custom["env"]["PORT"]) == ("8080", "9090")


def test_a_second_create_of_the_same_service_is_refused(services, deploy, probe_image):
    created = deploy(service(probe_image))
    with pytest.raises(exceptions.Conflict, match="already exists"):
        services.create_service(parent=PARENT, service=service(probe_image),
                                service_id=created.name.rsplit("/", 1)[1]).result(timeout=60)


def test_unauthenticated_requests_get_403_until_all_users_may_invoke(services, deploy, probe_image):
    # given a service deployed without --allow-unauthenticated
    created = deploy(service(probe_image), open_to_all=False)
    # when / then
    refused = requests.get(created.uri + "/", timeout=30)
    assert refused.status_code == 403 and "Error: Forbidden" in refused.text
    assert services.test_iam_permissions(request={"resource": created.name,
                                                  "permissions": ["run.routes.invoke"]}).permissions == []
    public(services, created.name)
    assert requests.get(created.uri + "/", timeout=30).status_code == 200
    bindings = services.get_iam_policy(request={"resource": created.name}).bindings
    assert [(b.role, list(b.members)) for b in bindings] == [("roles/run.invoker", ["allUsers"])]


def test_the_container_contract(deploy, probe_image, cloud):
    # given
    created = deploy(service(probe_image))
    revision = created.latest_ready_revision.rsplit("/", 1)[1]
    service_id = created.name.rsplit("/", 1)[1]
    # when
    answer = requests.get(created.uri + "/some/path?x=1", timeout=30).json()
    # then: Cloud Run's variables, the path unchanged, a read-only root, a writable /tmp, not root
    assert answer["env"]["K_SERVICE"] == service_id and answer["env"]["K_CONFIGURATION"] == service_id
    assert answer["env"]["K_REVISION"] == revision and answer["env"]["PORT"] == "8080"
    assert answer["path"] == "/some/path?x=1"
    assert (answer["root_writable"], answer["tmp_writable"], answer["uid"] != 0) == (False, True, True)
    # and the memory and CPU limits are the container's
    (container,) = run("docker", "ps", "--quiet", "--filter", f"label=localcloud.run.revision={revision}").split()
    host = json.loads(run("docker", "inspect", container))[0]["HostConfig"]
    assert (host["Memory"], host["NanoCpus"], host["NetworkMode"]) == (256 * 1024**2, 10**9, "none")
    assert counters(cloud, created.name)["instances_started"] >= 1


def test_a_container_that_never_listens_fails_its_revision(services, revisions, deploy, probe_image):
    # given a container that starts but never listens on PORT, with a 3 s startup probe
    spec = service(probe_image, command=["python3", "-c", "import time; time.sleep(600)"], startup_s=3)
    # when / then: the operation fails with Cloud Run's message, and so does the revision
    with pytest.raises(exceptions.FailedPrecondition) as failed:
        deploy(spec)
    message = str(failed.value)
    assert "is not ready and cannot serve traffic" in message
    assert "failed to start and listen on the port defined provided by the PORT=8080 environment variable" in message
    name = f"{PARENT}/services/{message.split(chr(39))[1].rsplit('-', 2)[0]}"
    failed_service = services.get_service(name=name)
    assert failed_service.terminal_condition.state.name == "CONDITION_FAILED"
    (revision,) = revisions.list_revisions(parent=name)
    assert revision.conditions[0].state.name == "CONDITION_FAILED"
    assert requests.get(failed_service.uri + "/", timeout=30).status_code in (403, 503)


def test_a_startup_limit_cuts_cloud_runs_default_probe_short(cloud, probe_image):
    # given a stand-in whose instances get 3 s to listen (a class grader's LOCALCLOUD_RUN_STARTUP_LIMIT), and a
    # container that never listens, under Cloud Run's default probe (240 s)
    with process.running(mode="docker", run_startup_limit=3) as limited:
        pushed = f"{limited.endpoint.removeprefix('http://')}/{probe_image}"
        run("docker", "tag", f"{cloud.endpoint.removeprefix('http://')}/{probe_image}", pushed)
        try:
            run("docker", "push", "--quiet", pushed)
            client = run_v2.ServicesClient(transport="rest", credentials=AnonymousCredentials(),
                                           client_options=ClientOptions(api_endpoint=limited.endpoint))
            started = time.monotonic()
            # when it is deployed, then the revision fails with Cloud Run's message, after the limit, not the probe
            with pytest.raises(exceptions.FailedPrecondition, match="failed to start and listen on the port"):
                client.create_service(parent=PARENT, service_id="never-listens", service=service(
                    probe_image, command=["python3", "-c", "import time; time.sleep(600)"])).result(timeout=120)
            assert time.monotonic() - started < 60
        finally:
            subprocess.run(["docker", "rmi", pushed], capture_output=True)


def test_an_image_that_is_not_in_the_registry_fails_the_deploy(deploy, probe_image):
    with pytest.raises(exceptions.FailedPrecondition, match="not found"):
        deploy(service(probe_image.replace("probe:latest", "nothing-here:latest")))


def test_oversized_bodies_are_refused_while_reading(cloud, deploy, probe_image):
    created = deploy(service(probe_image))
    admin = requests.post(f"{cloud.endpoint}/v2/{PARENT}/services?serviceId=big", data=b"{" + b" " * 2_000_000 + b"}",
                          timeout=60)
    assert admin.status_code == 400 and "exceeds the limit" in admin.json()["error"]["message"]
    chunked = requests.post(created.uri + "/", data=iter([b"x" * 1_048_576] * 40), timeout=60)  # 40 MiB, no length
    assert chunked.status_code == 413


def test_a_service_is_served_at_the_root_of_a_host_of_its_own(deploy, probe_image, cloud):
    # given
    created = deploy(service(probe_image))
    host = urlsplit(created.uri).netloc
    # when: a root-relative redirect is followed, and the same service is asked by the path alias
    redirected = requests.get(created.uri + "/redirect?to=/after/redirect", timeout=30)
    alias = requests.get(f"{cloud.endpoint}/_gcp/run/{PROJECT}/{REGION}/{created.name.rsplit('/', 1)[1]}/x",
                         timeout=30)
    # then: the redirect stays on the service's host, and the container sees the Host the client sent
    assert redirected.status_code == 200 and redirected.url == created.uri + "/after/redirect"
    assert (redirected.json()["path"], redirected.json()["host"]) == ("/after/redirect", host)
    assert "content-security-policy" not in {name.lower() for name in redirected.headers}
    # and the alias, on the edge's own origin, answers as a sandbox (a page there gets no origin of the edge's)
    assert (alias.status_code, alias.json()["path"], alias.headers["Content-Security-Policy"]) == (200, "/x", "sandbox")


def test_another_services_host_or_an_unknown_one_is_not_this_service(deploy, probe_image, cloud):
    created = deploy(service(probe_image))
    other = created.uri.replace("http://t-", "http://u-")
    assert requests.get(other + "/", timeout=30).status_code == 404
    assert requests.get(created.uri + "/_localcloud/status", timeout=30).json()["path"] == "/_localcloud/status"


def test_an_answer_over_32_mib_is_refused_and_a_chunked_one_streams_without_the_stand_in_growing(
        cloud, deploy, probe_image):
    created = deploy(service(probe_image))
    size = 100 * 1024 * 1024
    with PeakMemory(cloud.pid) as memory:
        declared = requests.get(created.uri + f"/?bytes={size}", timeout=60)
        streamed = requests.get(created.uri + f"/?bytes={size}&chunked=1", timeout=60, stream=True)
        received = sum(len(piece) for piece in streamed.iter_content(1024 * 1024))
    # then: Cloud Run's 500 for an HTTP/1 answer declared over 32 MiB; a chunked one streams whole
    assert declared.status_code == 500 and "Server Error" in declared.text
    assert streamed.status_code == 200 and received == size
    assert memory.rise_mb < 40  # neither answer was held whole (100 MB each)
