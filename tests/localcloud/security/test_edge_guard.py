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
