"""Fidelity: the HTTP API event, Lambda's sandbox, honest REPORT lines, and what AWS and Google refuse or keep.

Names, Cloud Run's rules and PutImage are checked against a host-mode stand-in (Cloud Run's
Admin API answers its refusals before any container runs); Cloud Run's serving is in ``gcp/``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import botocore.exceptions
import pytest
import requests
from google.api_core import exceptions as google_errors
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2

from localcloud.aws.awslambda.answers import classify
from localcloud.aws.awslambda.lambdalog import Invocation

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def web_api(lab):
    name = lab.function("web")
    return lab.http_api(name, route_key="ANY /{proxy+}")


def event_of(answer: requests.Response) -> dict:
    assert answer.status_code == 200, answer.text
    return answer.json()["event"]


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "application/x-www-form-urlencoded"},
                                     {"Content-Type": "application/octet-stream"}],
                         ids=["no content type", "form (curl -d)", "binary"])
def test_bodies_that_are_not_text_arrive_base64_encoded(lab, web_api, headers):
    body = b'{"sepal_length": 5.1}'
    event = event_of(requests.post(f"{web_api}/predict?shape=shorthand", data=body, headers=headers))
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == body


def test_json_bodies_arrive_as_text(lab, web_api):
    event = event_of(requests.post(f"{web_api}/predict?shape=shorthand", json={"sepal_length": 5.1}))
    assert event["isBase64Encoded"] is False and event["body"] == '{"sepal_length": 5.1}'


def test_raw_path_is_decoded_as_utf_8_and_domain_prefix_is_the_api_id(lab, web_api):
    event = event_of(requests.get(f"{web_api}/caf%C3%A9?shape=shorthand"))
    api_id = web_api.rsplit("/", 1)[1]
    assert event["rawPath"] == "/café" and event["requestContext"]["http"]["path"] == "/café"
    assert event["pathParameters"] == {"proxy": "café"}
    assert event["requestContext"]["domainPrefix"] == api_id


def test_the_sandbox_is_lambdas(lab):
    answer, _ = lab.invoke(lab.function("sandbox"))
    assert answer["tty"] is False
    if lab.mode == "docker":  # host mode runs as this machine's user, over a folder of its own
        assert (answer["uid"], answer["gid"]) == (993, 990)  # sbx_user1051
        assert answer["task_root_writable"] is False and answer["tmp_writable"] is True


def test_report_says_nothing_of_memory_it_could_not_measure():
    unmeasured = Invocation("id", 256, cold=False, version="$LATEST", max_memory=lambda: None, on_final=lambda _: None)
    measured = Invocation("id", 256, cold=False, version="$LATEST", max_memory=lambda: 71, on_final=lambda _: None)
    for invocation in (unmeasured, measured):
        invocation.reported(1.5)
        invocation.answered(expect_report=True)
    assert "Max Memory Used" not in unmeasured.final()[-1][1]
    assert "Max Memory Used: 71 MB" in measured.final()[-1][1]


@pytest.mark.parametrize(("status", "body", "expected", "retire"), [
    (200, b'{"ok": true}', "ok", False),
    (200, b"Task timed out after 2.00 seconds", "timeout", True),
    (200, b'{"errorMessage": "boom", "errorType": "ValueError", "requestId": "", "stackTrace": []}', "error", False),
    (200, b'{"errorMessage": "a result that only looks like one", "extra": 1}', "ok", False),
    (200, b'"' + b"x" * (6 * 1024 * 1024) + b'"', "error", False),
    (502, b'{"errorType": "Runtime.ExitError", "errorMessage": "exited"}', "crash", True),
])
def test_the_rie_answer_is_classified_as_lambda_answers(status, body, expected, retire):
    verdict = classify(status, body, "rid-1", "2026-01-01T00:00:00.000Z")
    assert (verdict.status, verdict.retire) == (expected, retire)
    if expected == "timeout":
        assert json.loads(verdict.payload) == {
            "errorMessage": "2026-01-01T00:00:00.000Z rid-1 Task timed out after 2.00 seconds"}
    if expected == "error" and status == 200 and len(body) < 1000:
        assert json.loads(verdict.payload)["requestId"] == "rid-1"


# -- names, Cloud Run's rules, PutImage, the account (issue 21) ------------------------------------------------------
HOST_ONLY = pytest.mark.parametrize("lab", ["host"], indirect=True)


@HOST_ONLY
@pytest.mark.parametrize("name", ["../../x", "a/b", "a\nb", "x" * 65, "fn.v1", "arn:aws:lambda:us-east-1:1:function:f"])
def test_function_names_lambda_refuses_are_refused_with_its_validation_error(lab, name):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        lab.lam.create_function(FunctionName=name, PackageType="Image", Role=lab.role,
                                Code={"ImageUri": lab.image("echo")})
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException", error
    assert error["Message"].startswith(f"1 validation error detected: Value '{name}' at 'functionName' failed to "
                                       "satisfy constraint: Member must ")
    assert name not in {f["FunctionName"] for f in lab.lam.list_functions()["Functions"]}


@pytest.fixture(scope="module")
def run_services(lab):
    return run_v2.ServicesClient(transport="rest", credentials=AnonymousCredentials(),
                                 client_options=ClientOptions(api_endpoint=lab.endpoint))


def cloud_run_service(*, memory: str = "512Mi", cpu: str = "1", concurrency: int = 0, env: dict | None = None):
    container = run_v2.Container(image="gcr.io/lc-tests/i", env=[{"name": k, "value": v} for k, v in (env or {}).items()],
                                 resources=run_v2.ResourceRequirements(limits={"memory": memory, "cpu": cpu}))
    return run_v2.Service(template=run_v2.RevisionTemplate(containers=[container],
                                                           max_instance_request_concurrency=concurrency))


CLOUD_RUN_REFUSALS = [
    ({"env": {"PORT": "8080"}}, "projects/lc-tests/locations/asia-south1",
     "template.containers[0].env: The following reserved env names were provided: PORT. These values are "
     "automatically set by the system."),
    ({"env": {"K_SERVICE": "x", "K_REVISION": "y"}}, "projects/lc-tests/locations/asia-south1",
     "reserved env names were provided: K_SERVICE, K_REVISION."),
    ({"memory": "8Gi", "cpu": "1"}, "projects/lc-tests/locations/asia-south1",
     "Invalid value specified for memory. For 1.0 CPU, memory must be between 128Mi and 4Gi inclusive."),
    ({"memory": "1Gi", "cpu": "4"}, "projects/lc-tests/locations/asia-south1",
     "For 4.0 CPU, memory must be between 2Gi and 16Gi inclusive."),
    ({"memory": "1Gi", "cpu": "0.25", "concurrency": 1}, "projects/lc-tests/locations/asia-south1",
     "For 0.25 CPU, memory must be between 128Mi and 512Mi inclusive."),
    ({"memory": "512Mi", "cpu": "0.5"}, "projects/lc-tests/locations/asia-south1",
     "Invalid value specified for cpu. Total cpu < 1 is not supported with concurrency > 1."),
    ({}, "projects/Not_A_Project/locations/asia-south1", "Invalid resource field value in the request."),
    ({}, "projects/lc-tests/locations/moon", "Location 'moon' is not a valid location"),
]


@HOST_ONLY
@pytest.mark.parametrize(("settings", "parent", "message"), CLOUD_RUN_REFUSALS)
def test_cloud_run_refuses_what_cloud_run_refuses(lab, run_services, settings, parent, message):
    service_id = f"r-{uuid.uuid4().hex[:8]}"
    with pytest.raises(google_errors.BadRequest) as caught:
        run_services.create_service(parent=parent, service=cloud_run_service(**settings), service_id=service_id)
    assert message in str(caught.value)
    with pytest.raises(google_errors.NotFound):
        run_services.get_service(name=f"projects/lc-tests/locations/asia-south1/services/{service_id}")


@HOST_ONLY
def test_cloud_run_takes_what_its_tiers_allow(lab, run_services):
    for settings in ({"memory": "8Gi", "cpu": "2"}, {"memory": "512Mi", "cpu": "0.5", "concurrency": 1}):
        request = run_v2.CreateServiceRequest(parent="projects/lc-tests/locations/asia-south1",
                                              service=cloud_run_service(**settings), service_id="t-tiers",
                                              validate_only=True)
        run_services.create_service(request=request)  # validate_only: checked, not deployed


def registry_manifest(lab, repository: str, reference: str) -> requests.Response:
    accept = ", ".join(["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                        "application/vnd.docker.distribution.manifest.v2+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json"])
    return requests.get(f"{lab.endpoint}/v2/{repository}/manifests/{reference}", headers={"Accept": accept}, timeout=30)


@HOST_ONLY
def test_put_image_writes_the_tag_the_registry_serves(lab):
    # given: a pushed image, read back as ECR holds it
    repository, tag = lab.image("echo").rsplit("/", 1)[1].split(":")
    (image,) = lab.ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])["images"]
    manifest, digest = image["imageManifest"], image["imageId"]["imageDigest"]
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": image["imageManifestMediaType"], "digest": digest, "size": len(manifest.encode()),
         "platform": {"architecture": "amd64", "os": "linux"}}]})
    retag, multi = f"retag-{uuid.uuid4().hex[:6]}", f"multi-{uuid.uuid4().hex[:6]}"
    # when: the image is tagged again, and a manifest list of it is put
    lab.ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=retag)
    lab.ecr.put_image(repositoryName=repository, imageManifest=index, imageTag=multi,
                      imageManifestMediaType="application/vnd.oci.image.index.v1+json")
    # then: the registry serves both tags, with the digests ECR lists
    retagged, listed = registry_manifest(lab, repository, retag), registry_manifest(lab, repository, multi)
    assert (retagged.status_code, retagged.headers["Docker-Content-Digest"]) == (200, digest)
    assert (listed.status_code, listed.headers["Docker-Content-Digest"]) == (
        200, "sha256:" + hashlib.sha256(index.encode()).hexdigest())
    described = lab.ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": multi}])["imageDetails"]
    assert described[0]["imageDigest"] == listed.headers["Docker-Content-Digest"]


@HOST_ONLY
def test_put_image_of_a_list_naming_a_missing_image_is_refused_and_recorded_nowhere(lab):
    repository = lab.image("echo").rsplit("/", 1)[1].split(":")[0]
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "0" * 64, "size": 100,
         "platform": {"architecture": "amd64", "os": "linux"}}]})
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        lab.ecr.put_image(repositoryName=repository, imageManifest=index, imageTag="dangling",
                          imageManifestMediaType="application/vnd.oci.image.index.v1+json")
    assert caught.value.response["Error"]["Code"] == "ReferencedImagesNotFoundException"
    assert registry_manifest(lab, repository, "dangling").status_code == 404
    tags = {t for d in lab.ecr.describe_images(repositoryName=repository)["imageDetails"] for t in d.get("imageTags", [])}
    assert "dangling" not in tags


def test_the_function_sees_the_account_every_arn_of_the_api_carries(lab):
    name = lab.function("echo")
    answer, _ = lab.invoke(name)
    arn = lab.lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert answer["function_arn"].split(":")[4] == arn.split(":")[4] == "123456789012"
    assert answer["function_arn"] == arn  # us-east-1, the RIE's region, is the lab's
