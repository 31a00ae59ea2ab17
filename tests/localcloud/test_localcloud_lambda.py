"""Part 1: ECR, registry and Lambda through the edge, in host and docker mode (issue 3)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time

import pytest
import requests
from botocore.exceptions import ClientError

from polling import wait_for

pytestmark = pytest.mark.integration

REPORT = re.compile(r"^REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms\tBilled Duration: (\d+) ms\tMemory Size: (\d+) MB\t"
                    r"Max Memory Used: (\d+) MB\t(?:Init Duration: ([\d.]+) ms\t)?$", re.MULTILINE)


def tail(answer: dict) -> str:
    return base64.b64decode(answer["LogResult"]).decode()


def test_ecr_uris_and_token_point_at_the_edge(lab):
    # given / when
    repository = lab.ecr.describe_repositories(repositoryNames=["lc-tests"])["repositories"][0]
    token = lab.ecr.get_authorization_token()["authorizationData"][0]
    # then
    assert repository["repositoryUri"] == f"{lab.host}/lc-tests"
    assert token["proxyEndpoint"] == lab.endpoint
    assert token["expiresAt"].timestamp() > time.time() + 11 * 3600
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":")
    if lab.mode == "docker":
        login = subprocess.run(["docker", "login", "--username", user, "--password-stdin", token["proxyEndpoint"]],
                               input=password, capture_output=True, text=True)
        assert "Login Succeeded" in login.stdout


def test_pushed_image_is_listed_with_tag_and_digest(lab):
    # given
    uri = lab.image("echo", tag="listed")
    # when
    details = lab.ecr.describe_images(repositoryName="lc-tests", imageIds=[{"imageTag": "listed"}])["imageDetails"]
    # then
    manifest = requests.get(f"{lab.endpoint}/v2/lc-tests/manifests/listed",
                            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    assert uri == f"{lab.host}/lc-tests:listed"
    assert details[0]["imageDigest"] == manifest.headers["Docker-Content-Digest"]
    assert details[0]["imageSizeInBytes"] == sum(layer["size"] for layer in manifest.json()["layers"])


def test_push_to_a_missing_repository_fails_as_on_ecr(lab):
    answer = requests.post(f"{lab.endpoint}/v2/no-such-repo/blobs/uploads/")
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "NAME_UNKNOWN"


def test_function_lifecycle(lab):
    # given: a function with environment variables and memory
    name = lab.function("echo", Environment={"Variables": {"GREETING": "hello"}}, MemorySize=512, Timeout=3)

    # when: invoked twice
    first, first_answer = lab.invoke(name, {"n": 1}, LogType="Tail")
    second, second_answer = lab.invoke(name, {"n": 2}, LogType="Tail")

    # then: the first is a cold start with Init Duration, the second warm; env and memory reached the handler
    assert first["event"] == {"n": 1} and first["cold"] and not second["cold"]
    assert first["env"]["GREETING"] == "hello" and first["env"]["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert first["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512" and first["memory_limit_in_mb"] == 512
    assert first["env"]["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST" and first["env"]["AWS_REGION"] == "us-east-1"
    cold_report, warm_report = REPORT.search(tail(first_answer)), REPORT.search(tail(second_answer))
    assert cold_report and cold_report.group(6) and float(cold_report.group(6)) > 0
    assert warm_report and warm_report.group(6) is None and warm_report.group(4) == "512"
    assert cold_report.group(1) == first_answer["ResponseMetadata"]["RequestId"]
    assert second_answer["ExecutedVersion"] == "$LATEST" and "FunctionError" not in second_answer

    # when: the configuration changes, the next call is a cold start again
    lab.lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"GREETING": "changed"}})
    lab.lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    third, third_answer = lab.invoke(name, LogType="Tail")
    assert third["cold"] and third["env"]["GREETING"] == "changed"
    assert REPORT.search(tail(third_answer)).group(6)

    # when: the code changes (another image), the next call is cold and runs the new code
    update = lab.lam.update_function_code(FunctionName=name, ImageUri=lab.image("web", tag="echo-v2"))
    assert update["LastUpdateStatus"] == "InProgress"
    lab.lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    fourth, _ = lab.invoke(name, {"queryStringParameters": {"shape": "shorthand"}})
    assert "event" in fourth and "cold" not in fourth
    counters = lab.counters(name)
    assert counters["cold_starts"] == counters["environments_started"] == 3

    # then: CloudWatch Logs has the handler's own lines and the REPORT lines
    events = lab.logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    messages = [event["message"] for event in events]
    assert sum('"message": "echo handled a request"' in message for message in messages) == 3
    assert sum(message.startswith("REPORT RequestId: ") for message in messages) == 4
    streams = lab.logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert all(re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", s["logStreamName"]) for s in streams)

    # when deleted, it is gone
    lab.lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as missing:
        lab.invoke(name)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert name not in lab.status()["functions"]

    # and once its log group is deleted too, nothing the retired environments print brings it back
    lab.logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")
    time.sleep(2)  # environments stop in the background; their last words arrive within this
    assert lab.logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"] == []


def test_errors_and_timeouts_come_back_as_lambda_reports_them(lab):
    name = lab.function("faults", Timeout=1)

    error, error_answer = lab.invoke(name, {"fault": "raise"}, LogType="Tail")
    assert error_answer["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "raised on purpose"
    assert error["requestId"] == error_answer["ResponseMetadata"]["RequestId"]
    assert "[ERROR] ValueError: raised on purpose" in tail(error_answer)

    timeout, timeout_answer = lab.invoke(name, {"fault": "sleep", "seconds": 3}, LogType="Tail")
    assert timeout_answer["FunctionError"] == "Unhandled"
    assert timeout["errorMessage"].endswith(f"{timeout_answer['ResponseMetadata']['RequestId']} "
                                            "Task timed out after 1.00 seconds")
    assert "Task timed out after 1.00 seconds" in tail(timeout_answer)

    crash, crash_answer = lab.invoke(name, {"fault": "kill"})
    assert crash_answer["FunctionError"] == "Unhandled" and crash["errorType"] == "Runtime.ExitError"

    fine, fine_answer = lab.invoke(name)
    assert fine == {"fine": True} and "FunctionError" not in fine_answer
    assert lab.counters(name)["timeouts"] == 1 and lab.counters(name)["errors"] == 2


def test_invocation_types(lab):
    name = lab.function("echo")
    dry = lab.lam.invoke(FunctionName=name, InvocationType="DryRun")
    event = lab.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"async": true}')
    assert dry["StatusCode"] == 204 and event["StatusCode"] == 202

    def handled() -> bool:
        try:  # the asynchronous invocation runs in the background: its log group appears when it has run
            events = lab.logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except ClientError:
            return False
        return any("echo handled" in event["message"] for event in events)

    wait_for(handled, 30, what="the asynchronous invocation's log line")


def test_images_lambda_refuses(lab):
    # an image that was never pushed
    with pytest.raises(ClientError) as never_pushed:
        lab.lam.create_function(FunctionName="never-pushed", PackageType="Image", Role=lab.role,
                                Code={"ImageUri": f"{lab.host}/lc-tests:no-such-tag"})
    error = never_pushed.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"] == (f"Source image {lab.host}/lc-tests:no-such-tag does not exist. "
                                "Provide a valid source image.")

    # a multi-platform index (what Docker's default provenance attestations produce)
    lab.image("echo", tag="single")
    single = requests.get(f"{lab.endpoint}/v2/lc-tests/manifests/single",
                          headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": single.headers["Content-Type"], "digest": single.headers["Docker-Content-Digest"],
         "size": len(single.content), "platform": {"architecture": "amd64", "os": "linux"}}]}
    pushed = requests.put(f"{lab.endpoint}/v2/lc-tests/manifests/with-index", data=json.dumps(index),
                          headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
    assert pushed.status_code == 201
    with pytest.raises(ClientError) as unsupported:
        lab.lam.create_function(FunctionName="with-index", PackageType="Image", Role=lab.role,
                                Code={"ImageUri": f"{lab.host}/lc-tests:with-index"})
    assert unsupported.value.response["Error"]["Message"] == (
        f"The image manifest, config or layer media type for the source image {lab.host}/lc-tests:with-index "
        "is not supported.")


def test_deleting_images_and_repositories_empties_the_registry(lab):
    lab.ecr.create_repository(repositoryName="doomed")
    lab.image("echo", tag="a", repository="doomed")
    lab.image("faults", tag="b", repository="doomed")

    lab.ecr.batch_delete_image(repositoryName="doomed", imageIds=[{"imageTag": "a"}])
    assert requests.get(f"{lab.endpoint}/v2/doomed/manifests/a").status_code == 404
    assert requests.get(f"{lab.endpoint}/v2/doomed/manifests/b").status_code == 200

    lab.ecr.delete_repository(repositoryName="doomed", force=True)
    assert requests.get(f"{lab.endpoint}/v2/doomed/manifests/b").status_code == 404
    assert requests.get(f"{lab.endpoint}/v2/doomed/tags/list").status_code == 404


def test_host_images_refuses_bad_input(lab, tmp_path):
    no_repository = lab.cloud.push_folder(tmp_path, "nope", "x")
    not_a_tar = requests.post(f"{lab.endpoint}/_localcloud/host-images", data=b"not a tar" * 100,
                              params={"repositoryName": "lc-tests", "imageTag": "x"})
    assert no_repository.status_code == 400 and no_repository.json()["code"] == "RepositoryNotFoundException"
    assert not_a_tar.status_code == 400 and "not a tar" in not_a_tar.json()["message"]


def test_tags_work_through_the_edge(lab):
    tags = {"lab": "serverless-iris"}
    repository = lab.ecr.create_repository(repositoryName="tagged", tags=[{"Key": "lab", "Value": "serverless-iris"}])
    name = lab.function("echo", Tags=tags)
    api = lab.apigw.create_api(Name="tagged", ProtocolType="HTTP", Tags=tags)
    lab.logs.create_log_group(logGroupName="/lc-tests/tagged", tags=tags)
    lab.iam.create_role(RoleName="tagged", AssumeRolePolicyDocument="{}", Tags=[{"Key": "lab", "Value": "serverless-iris"}])

    arn = lab.lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    group_arn = "arn:aws:logs:us-east-1:123456789012:log-group:/lc-tests/tagged"
    assert lab.ecr.list_tags_for_resource(resourceArn=repository["repository"]["repositoryArn"])["tags"] == [
        {"Key": "lab", "Value": "serverless-iris"}]
    assert lab.lam.list_tags(Resource=arn)["Tags"] == tags
    assert lab.apigw.get_tags(ResourceArn=f"arn:aws:apigateway:us-east-1::/apis/{api['ApiId']}")["Tags"] == tags
    assert lab.iam.list_role_tags(RoleName="tagged")["Tags"] == [{"Key": "lab", "Value": "serverless-iris"}]
    assert lab.logs.list_tags_for_resource(resourceArn=group_arn)["tags"] == tags


def test_other_regions_work(lab):
    ecr = lab.client("ecr", region="eu-west-1")
    lam = lab.client("lambda", region="eu-west-1")
    ecr.create_repository(repositoryName="lc-tests-eu")
    uri = lab.image("echo", tag="eu", repository="lc-tests-eu")
    lam.create_function(FunctionName="in-eu", PackageType="Image", Role=lab.role, Code={"ImageUri": uri})
    lam.get_waiter("function_active_v2").wait(FunctionName="in-eu", WaiterConfig={"Delay": 1})
    answer = json.loads(lam.invoke(FunctionName="in-eu", Payload=b"{}")["Payload"].read())
    assert answer["env"]["AWS_REGION"] == "eu-west-1"


@pytest.mark.parametrize("lab", ["host"], indirect=True)
def test_host_mode_runs_a_pushed_docker_image(lab, lambda_base):
    """Images built with Docker run in host mode too: from their /var/task, with this machine's Python."""
    uri = lab._docker_image("echo", "lc-tests", "built-with-docker")
    name = lab.function("echo", image=uri)
    answer, _ = lab.invoke(name)
    assert answer["cold"] and answer["env"]["LAMBDA_TASK_ROOT"].endswith("/var/task")
    assert list((lab.cloud.home / "images").glob("sha256-*/var/task/app.py"))  # extracted from the image's layers
