"""Finding 1: a web page (DNS rebinding, cross-site requests) cannot drive the stand-in, and no image decides host mode."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
import requests

pytestmark = pytest.mark.integration

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.CreateRepository"
FAKE_SIGV4 = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, "
              "Signature=" + "0" * 64)


def create_repository(lab, name: str, **headers) -> requests.Response:
    """CreateRepository as a page would send it: JSON, a made-up signature, and the page's own headers."""
    return requests.post(lab.endpoint + "/", data=json.dumps({"repositoryName": name}), timeout=10, headers={
        "X-Amz-Target": ECR_TARGET, "Content-Type": "application/x-amz-json-1.1", "Authorization": FAKE_SIGV4, **headers})


def repositories(lab) -> set[str]:
    return {repository["repositoryName"] for repository in lab.ecr.describe_repositories()["repositories"]}


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1.nip.example:{port}", "127.0.0.1:1", "localhost",
                                  ""])
def test_a_foreign_host_is_refused_on_every_path(lab, host):
    host = host.format(port=lab.cloud.port)
    # given: the same request with the stand-in's own Host works
    assert create_repository(lab, f"guard-own-{uuid.uuid4().hex[:8]}").status_code == 200
    # when
    answers = [
        create_repository(lab, "guard-rebound", Host=host),
        requests.post(f"{lab.endpoint}/2015-03-31/functions/any/invocations", data=b"{}", headers={"Host": host}),
        requests.get(f"{lab.endpoint}/_aws/execute-api/any/predict", headers={"Host": host}),
        requests.get(f"{lab.endpoint}/v2/lc-tests/tags/list", headers={"Host": host}),
        requests.get(f"{lab.endpoint}/_localcloud/status", headers={"Host": host}),
        requests.post(f"{lab.endpoint}/_localcloud/host-images", data=b"", headers={"Host": host}),
    ]
    # then
    assert [answer.status_code for answer in answers] == [403] * len(answers)
    assert "guard-rebound" not in repositories(lab)


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://localhost:3000"}, {"Sec-Fetch-Site": "cross-site"}])
def test_cross_site_browser_requests_are_refused(lab, headers):
    refused = create_repository(lab, "guard-cross-site", **headers)
    invoke = requests.post(f"{lab.endpoint}/2015-03-31/functions/any/invocations", data=b"{}", headers=headers)
    assert refused.status_code == 403 and invoke.status_code == 403
    assert "access-control-allow-origin" not in {name.lower() for name in refused.headers}
    assert "guard-cross-site" not in repositories(lab)


def test_the_stand_ins_own_origin_passes_and_no_cors_headers_are_sent(lab):
    own = {"Origin": lab.endpoint}
    created = create_repository(lab, f"guard-origin-{uuid.uuid4().hex[:8]}", **own)
    preflight = requests.options(lab.endpoint + "/", headers={**own, "Access-Control-Request-Method": "POST"})
    assert created.status_code == 200
    for answer in (created, preflight):
        assert not [name for name in answer.headers if name.lower().startswith("access-control-")]


def test_the_registry_takes_the_docker_daemon_but_not_a_foreign_host(lab):
    assert requests.get(f"{lab.endpoint}/v2/").status_code == 200  # the daemon sends neither Origin nor Sec-Fetch-*
    assert requests.get(f"{lab.endpoint}/v2/", headers={"Host": "evil.example"}).status_code == 403


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}])
def test_the_registry_refuses_cross_site_browser_requests(lab, headers):
    before = sorted((lab.cloud.home / "registry").rglob("_uploads"))
    answers = [requests.get(f"{lab.endpoint}/v2/", headers=headers),
               requests.get(f"{lab.endpoint}/v2/lc-tests/tags/list", headers=headers),
               requests.head(f"{lab.endpoint}/v2/gcr.io/p/i/manifests/latest", headers=headers),
               requests.post(f"{lab.endpoint}/v2/gcr.io/p/i/blobs/uploads/", headers=headers)]
    assert [answer.status_code for answer in answers] == [403] * len(answers)
    assert sorted((lab.cloud.home / "registry").rglob("_uploads")) == before


@pytest.mark.parametrize("lab", ["docker"], indirect=True)
def test_an_image_label_does_not_make_a_function_run_on_the_host(lab, tmp_path):
    # given: an image that claims to be a host image
    (tmp_path / "app.py").write_text((lab.functions / "echo" / "app.py").read_text())
    uri = f"{lab.host}/lc-tests:claims-host"
    dockerfile = (f"FROM {lab.base_image}\nLABEL localcloud.host-image=true\nCOPY app.py ${{LAMBDA_TASK_ROOT}}/\n"
                  'CMD ["app.handler"]\n')
    (tmp_path / "Dockerfile").write_text(dockerfile)
    for command in (["build", "--network", "host", "--quiet", "--tag", uri, str(tmp_path)], ["push", "--quiet", uri]):
        assert subprocess.run(["docker", *command], capture_output=True, timeout=300).returncode == 0
    lab.built[uri] = uri
    # when
    name = lab.function("echo", image=uri)
    answer, _ = lab.invoke(name)
    # then: it ran in a container (its /var/task), not over a folder of this machine
    assert answer["env"]["LAMBDA_TASK_ROOT"] == "/var/task"
    assert lab.counters(name)["environments"][0]["container"]


def service_host(lab, label: str = "svc-0123456789", region: str = "asia-south1") -> str:
    """A Host of the form a Cloud Run service's URL has (SERVICE-HASH.REGION.run.localhost:PORT)."""
    return f"{label}.{region}.run.localhost:{lab.cloud.port}"


@pytest.mark.parametrize("lab", ["host"], indirect=True)
def test_a_cloud_run_services_host_is_admitted_and_reaches_cloud_run_alone(lab):
    # given: a service's host (no such service here), and the page of that service asking it
    host = service_host(lab)
    own_page = {"Host": host, "Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"}
    # when: the paths of the stand-in's own endpoints and APIs are asked on it
    answers = [requests.get(f"{lab.endpoint}{path}", headers=headers, timeout=10)
               for path in ("/", "/_localcloud/status", "/v2/", "/_aws/execute-api/x/y")
               for headers in ({"Host": host}, own_page)]
    answers.append(requests.post(f"{lab.endpoint}/2015-03-31/functions/any/invocations", data=b"{}",
                                 headers={"Host": host.upper()}, timeout=10))
    # then: Cloud Run's data plane answers every one (its 404 page), never the stand-in
    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert all("Error: Page not found" in answer.text for answer in answers)


@pytest.mark.parametrize("lab", ["host"], indirect=True)
@pytest.mark.parametrize("host", ["svc-0123456789.asia-south1.run.localhost:1", "svc-0123456789.asia-south1.run.localhost",
                                  "svc.asia-south1.run.localhost.evil.example:{port}", "a.b.asia-south1.run.localhost:{port}",
                                  "run.localhost:{port}", "svc.moon.run.localhost:{port}", "svc.asia-south1.localhost:{port}",
                                  "-svc.asia-south1.run.localhost:{port}"])
def test_names_that_only_resemble_a_services_host_are_refused(lab, host):
    host = host.format(port=lab.cloud.port)
    assert requests.get(f"{lab.endpoint}/", headers={"Host": host}, timeout=10).status_code == 403
    assert create_repository(lab, "guard-lookalike", Host=host).status_code == 403
    assert "guard-lookalike" not in repositories(lab)


@pytest.mark.parametrize("lab", ["host"], indirect=True)
def test_a_services_page_can_call_neither_the_stand_in_nor_another_service(lab):
    page = f"http://{service_host(lab)}"
    refused = [create_repository(lab, "guard-from-service", Origin=page),
               create_repository(lab, "guard-from-service", **{"Sec-Fetch-Site": "cross-site"}),
               requests.get(f"{lab.endpoint}/", timeout=10, headers={"Host": service_host(lab, "other-0123456789"),
                                                                     "Origin": page}),
               requests.get(f"{lab.endpoint}/", timeout=10, headers={"Host": service_host(lab, "other-0123456789"),
                                                                     "Sec-Fetch-Site": "same-site"})]
    assert [answer.status_code for answer in refused] == [403] * len(refused)
    assert "guard-from-service" not in repositories(lab)
