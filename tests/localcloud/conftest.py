"""Fixtures for the local AWS stand-in's integration tests.

Every test runs against a real stand-in started as a subprocess (``localcloud.process``)
on a free port with a temporary LOCALCLOUD_HOME, once in host mode and once in docker
mode, and drives it only through boto3, the docker CLI and HTTP. Docker-mode tests use the
shared ``lambda_base`` fixture (tests/conftest.py): they skip without an engine, or fail in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from labkit.loopback import resolve_localhost_names
from localcloud import process
from polling import wait_for

resolve_localhost_names()  # Cloud Run services' URLs are *.localhost names, which browsers and curl resolve so

FUNCTIONS = Path(__file__).resolve().parent / "functions"
BASE_IMAGE = "public.ecr.aws/lambda/python:3.11"
IDLE_TIMEOUT_S = 4
REPOSITORY = "lc-tests"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


MODES = [pytest.param("host", id="host"), pytest.param("docker", id="docker", marks=pytest.mark.docker)]


class Lab:
    """One running stand-in, plus helpers that do what a lab step does: build, push, deploy, invoke."""

    functions = FUNCTIONS
    base_image = BASE_IMAGE

    def __init__(self, cloud: process.Instance, mode: str, built: dict, options: dict):
        self.cloud, self.mode, self.built, self.options = cloud, mode, built, options
        self.endpoint = cloud.endpoint
        self.host = self.endpoint.removeprefix("http://")
        self.ecr, self.iam, self.lam = self.client("ecr"), self.client("iam"), self.client("lambda")
        self.logs, self.apigw = self.client("logs"), self.client("apigatewayv2")
        self.images: dict[str, str] = {}
        self.ecr.create_repository(repositoryName=REPOSITORY)
        self.role = self.iam.create_role(RoleName="lc-tests-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]

    def client(self, service: str, region: str = "us-east-1"):
        return self.cloud.client(service, region=region)

    def restart(self, port: int | None = None) -> None:
        """Stop the stand-in and start it again on the same home (its state is saved there), and port unless given."""
        process.stop(self.cloud.home)
        environ = {f"LOCALCLOUD_{key.upper()}": str(value) for key, value in self.options.items()}
        self.cloud = process.start(port or self.cloud.port, self.cloud.home, environ=environ)
        self.endpoint = self.cloud.endpoint
        self.host = self.endpoint.removeprefix("http://")
        self.ecr, self.iam, self.lam = self.client("ecr"), self.client("iam"), self.client("lambda")

    def status(self) -> dict:
        return requests.get(f"{self.endpoint}/_localcloud/status", timeout=10).json()

    def counters(self, function: str) -> dict:
        return self.status()["functions"].get(function, {})

    def image(self, function: str, tag: str | None = None, repository: str = REPOSITORY) -> str:
        """Push tests/localcloud/functions/FUNCTION as an image; returns its ImageUri."""
        tag = tag or function
        key = f"{repository}:{tag}"
        if key not in self.images:
            self.images[key] = self._docker_image(function, repository, tag) if self.mode == "docker" else \
                self._host_image(function, repository, tag)
        return self.images[key]

    def _host_image(self, function: str, repository: str, tag: str) -> str:
        answer = self.cloud.push_folder(FUNCTIONS / function, repository, tag)
        assert answer.status_code == 200, answer.text
        return answer.json()["imageUri"]

    def _docker_image(self, function: str, repository: str, tag: str) -> str:
        local = self.built.get(function)
        if local is None:
            # per test process: parallel workers (and sessions) sharing one engine never remove each other's images
            local = self.built[function] = f"localcloud-tests/{function}:{os.getpid()}"
            dockerfile = f"FROM {BASE_IMAGE}\nCOPY app.py ${{LAMBDA_TASK_ROOT}}/\nCMD [\"app.handler\"]\n"
            run(["docker", "build", "--network", "host", "--quiet", "--tag", local, "--file", "-",
                 str(FUNCTIONS / function)], input=dockerfile)
        uri = f"{self.host}/{repository}:{tag}"
        run(["docker", "tag", local, uri])
        self.built[uri] = uri  # untagged at the end of the session
        run(["docker", "push", "--quiet", uri])
        return uri

    def function(self, function: str, name: str | None = None, *, image: str | None = None, **config) -> str:
        """create_function from an image of FUNCTION; waits until Active; returns the function name."""
        name = name or f"{function}-{uuid.uuid4().hex[:6]}"
        self.lam.create_function(FunctionName=name, PackageType="Image", Role=self.role,
                                 Code={"ImageUri": image or self.image(function)},
                                 **{"Timeout": 5, "MemorySize": 256, **config})
        self.wait_active(name)
        return name

    def wait_active(self, name: str, timeout: float = 60) -> None:
        def active() -> bool:
            configuration = self.lam.get_function(FunctionName=name)["Configuration"]
            assert configuration["State"] != "Failed", configuration.get("StateReason")
            return configuration["State"] == "Active" and configuration.get("LastUpdateStatus") in (None, "Successful")

        wait_for(active, timeout, what=f"{name} becoming Active")

    def settled(self, name: str, timeout: float = 30) -> dict:
        """The function's configuration once it has left ``Pending`` (Active or Failed)."""
        def left_pending():
            configuration = self.lam.get_function(FunctionName=name)["Configuration"]
            return configuration if configuration["State"] != "Pending" else None
        return wait_for(left_pending, timeout, f"{name} leaving Pending")

    def invoke(self, name: str, event: object = None, **kwargs) -> tuple[object, dict]:
        answer = self.lam.invoke(FunctionName=name, Payload=json.dumps(event or {}), **kwargs)
        return json.loads(answer["Payload"].read() or b"null"), answer

    def http_api(self, name: str, route_key: str = "POST /predict", payload_version: str = "2.0",
                 stage: str = "$default", permission: bool = True, **integration) -> str:
        """API + AWS_PROXY integration + route + auto-deployed stage (+ permission); returns the invoke URL."""
        arn = self.lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        api = self.apigw.create_api(Name=f"api-{name}", ProtocolType="HTTP")
        api_id = api["ApiId"]
        target = self.apigw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn,
                                               PayloadFormatVersion=payload_version, **integration)
        self.apigw.create_route(ApiId=api_id, RouteKey=route_key, Target=f"integrations/{target['IntegrationId']}")
        self.apigw.create_stage(ApiId=api_id, StageName=stage, AutoDeploy=True)
        if permission:
            self.allow(name, api_id)
        return api["ApiEndpoint"] + ("" if stage == "$default" else f"/{stage}")

    def allow(self, name: str, api_id: str, source: str = "*/*") -> None:
        self.lam.add_permission(FunctionName=name, StatementId=f"api-{api_id}", Action="lambda:InvokeFunction",
                                Principal="apigateway.amazonaws.com",
                                SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/{source}")


def run(command: list[str], input: str | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, input=input, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)}: {done.stderr.strip()}"
    return done.stdout


@pytest.fixture(scope="session")
def built_images():
    """Local test images built once per session (docker mode), removed at the end."""
    built: dict[str, str] = {}
    yield built
    if built:
        subprocess.run(["docker", "rmi", "--force", *built.values()], capture_output=True)


@pytest.fixture
def own(tmp_path):
    """A host-mode stand-in of the test's own, for tests that stop, kill or restart it."""
    options = {"mode": "host", "idle_timeout": IDLE_TIMEOUT_S}
    with process.running(home=tmp_path / "home", **options) as cloud:
        lab = Lab(cloud, "host", {}, options)
        yield lab
    process.stop(lab.cloud.home)


@pytest.fixture(scope="session", params=MODES)
def lab(request, built_images):
    """A stand-in in host or docker mode, shared by the tests of that mode."""
    if request.param == "docker":
        request.getfixturevalue("lambda_base")  # skips, or fails in CI, without an engine and base image
    options = {"mode": request.param, "idle_timeout": IDLE_TIMEOUT_S, "max_concurrency": 12}
    with process.running(**options) as cloud:
        yield Lab(cloud, request.param, built_images, options)
