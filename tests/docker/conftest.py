"""Fixtures for tests that need a Docker engine and the Lambda base image.

Without an engine these tests are skipped with the reason shown; with
``LAB_REQUIRE_DOCKER=1`` (CI) the skip becomes a failure. Containers run with
``--network host`` on Linux (the engine may have no bridge network) and publish
to 127.0.0.1 elsewhere; every container a test starts is removed afterwards.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from lambda_rie import free_port, listening
from lambda_rie import run as rie
from polling import wait_for

BASE_IMAGE = "public.ecr.aws/lambda/python:3.11"
REPLICA_LABEL = "org.serverless-iris.replica"
REPO = Path(__file__).resolve().parents[2]
HOST_NETWORK = rie.host_network_default()


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``docker ARGS`` and return the finished process (text output)."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result


@pytest.fixture(scope="session")
def base_config(lambda_base) -> dict:
    """The base image's configuration (``docker image inspect``: Config, Architecture)."""
    (image,) = json.loads(docker("image", "inspect", lambda_base).stdout)
    return {**image["Config"], "Architecture": image["Architecture"]}


@pytest.fixture(scope="session")
def docker_cli(docker_engine):
    """The ``docker(*args, timeout=, check=)`` helper, for tests."""
    return docker


@pytest.fixture(scope="session")
def is_replica(base_config) -> bool:
    """Whether the base image is the offline replica built by docker/lambda-base/build.sh."""
    return (base_config.get("Labels") or {}).get(REPLICA_LABEL) == "true"


@pytest.fixture(scope="session")
def host_rie(base_config) -> Path:
    """This repo's cached RIE binary for the base image's architecture."""
    from lambda_rie import RieUnavailable, ensure_rie

    try:
        return ensure_rie("arm64" if base_config["Architecture"] == "arm64" else "x86_64")
    except RieUnavailable as error:
        pytest.skip(str(error))


@dataclass
class Container:
    """A running container and the 127.0.0.1 port its RIE answers on."""

    id: str
    port: int

    def logs(self) -> str:
        result = docker("logs", self.id, check=False)
        return result.stdout + result.stderr

    def wait_until_listening(self, timeout: float = 20) -> None:
        """Wait until the RIE accepts connections; fail with its logs if the container exits first."""
        def up() -> bool:
            if listening(self.port, timeout=0.5):
                return True
            state = docker("inspect", "-f", "{{.State.Running}}", self.id, check=False).stdout.strip()
            if state != "true":
                raise AssertionError("container exited before its RIE listened")
            return False

        try:
            wait_for(up, timeout, what=f"the RIE listening on 127.0.0.1:{self.port}")
        except AssertionError as error:  # it exited, or never listened: show what it said
            raise AssertionError(f"{error}:\n{self.logs()}") from None

    def invoke(self, payload: dict, timeout: float = 60) -> tuple[int, dict]:
        """POST an event to the RIE's invoke URL, as `curl -XPOST ...` would; return (status, JSON body)."""
        self.wait_until_listening()
        try:
            status, body = rie.invoke(self.port, payload, timeout)
            if status >= 400:
                raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
            return status, json.loads(body)
        except Exception as error:
            raise AssertionError(f"invoke failed ({error}):\n{self.logs()}") from error


@pytest.fixture
def run_container(docker_engine):
    """Start containers; ``run_container(rie_address_for, *args)`` -> Container. All removed at teardown.

    ``rie_address_for`` is called with (rie_address, runtime_api_address) and returns the
    ``docker run`` arguments after the networking options. On Linux both addresses are
    free 127.0.0.1 ports on the host network; elsewhere the RIE listens on 0.0.0.0:8080
    inside the container, published as 127.0.0.1:PORT.
    """
    started: list[str] = []

    def run(rie_args, *options: str) -> Container:
        port = free_port()
        if HOST_NETWORK:
            network = ["--network", "host"]
            addresses = (f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
        else:
            network = ["-p", f"127.0.0.1:{port}:8080"]
            addresses = ("0.0.0.0:8080", "127.0.0.1:9001")
        name = f"lab-test-lambda-base-{uuid.uuid4().hex[:8]}"
        cid = docker("run", "-d", "--name", name, *network, *options, *rie_args(*addresses)).stdout.strip()
        started.append(cid)
        return Container(cid, port)

    yield run
    for cid in started:
        docker("rm", "-f", cid, check=False)


@pytest.fixture
def task_root(tmp_path) -> Path:
    """A function code folder (mounted at /var/task) with a trivial handler."""
    (tmp_path / "app.py").write_text(
        "import os, sys\n"
        "def handler(event, context):\n"
        "    return {'echo': event, 'task_root': os.environ.get('LAMBDA_TASK_ROOT'),\n"
        "            'python': list(sys.version_info[:2]), 'request_id': context.aws_request_id}\n"
    )
    tmp_path.chmod(0o755)
    return tmp_path
