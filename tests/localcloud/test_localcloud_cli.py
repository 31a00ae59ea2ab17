"""The lifecycle CLI: `python -m localcloud up | status | logs | down`, and its one-line errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from localcloud import process
from polling import wait_for

pytestmark = pytest.mark.integration


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "localcloud", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


@pytest.fixture
def home_and_port(tmp_path):
    env = {"LOCALCLOUD_HOME": str(tmp_path / "home"), "LOCALCLOUD_PORT": str(process.free_port()),
           "LOCALCLOUD_MODE": "host"}
    yield env
    cli("down", **env)


def test_up_status_logs_down(home_and_port):
    port = home_and_port["LOCALCLOUD_PORT"]
    up = cli("up", **home_and_port)
    assert up.returncode == 0, up.stderr
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in up.stdout
    assert "export AWS_ACCESS_KEY_ID=test" in up.stdout and "export AWS_DEFAULT_REGION=" in up.stdout
    assert requests.get(f"http://127.0.0.1:{port}/_localcloud/health").json()["status"] == "healthy"

    again = cli("up", **home_and_port)
    assert again.returncode == 0 and "already running" in again.stdout

    status = cli("status", **home_and_port)
    assert status.returncode == 0 and "host mode" in status.stdout and "registry       healthy" in status.stdout
    document = requests.get(f"http://127.0.0.1:{port}/_localcloud/status").json()
    assert document["mode"] == "host" and set(document["components"]) >= {"edge", "registry", "runtime"}

    logs = cli("logs", "edge", **home_and_port)
    assert logs.returncode == 0 and "serving http://127.0.0.1:" in logs.stdout

    down = cli("down", **home_and_port)
    assert down.returncode == 0 and "Stopped" in down.stdout
    assert process.health(int(port)) is None
    assert "not running" in cli("down", **home_and_port).stdout


def test_mistakes_are_one_line(home_and_port, tmp_path):
    with socket.socket() as squatter:  # a port taken by something that is not the stand-in
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = cli("up", **{**home_and_port, "LOCALCLOUD_PORT": str(squatter.getsockname()[1])})
    assert taken.returncode == 1 and "in use by another program" in taken.stderr
    assert len(taken.stderr.strip().splitlines()) == 1 and "Traceback" not in taken.stderr

    not_running = cli("status", **home_and_port)
    assert not_running.returncode == 1 and not_running.stderr.count("\n") == 1

    bad_setting = cli("up", **{**home_and_port, "LOCALCLOUD_MODE": "cloudy"})
    assert bad_setting.returncode == 1 and "LOCALCLOUD_MODE" in bad_setting.stderr

    no_registry = cli("up", **{**home_and_port, "LOCALCLOUD_HOME": str(tmp_path / "other"),
                               "LOCALCLOUD_REGISTRY_BIN": "no-such-registry", "LOCALCLOUD_DOCKER": "no-such-docker"})
    assert no_registry.returncode == 1 and "apt-get install docker-registry" in no_registry.stderr
    assert "Traceback" not in no_registry.stderr


def test_a_killed_stand_in_leaves_no_processes_behind(tmp_path):
    home = tmp_path / "home"
    cloud = process.start(process.free_port(), home, environ={"LOCALCLOUD_MODE": "host"})
    try:
        cloud.client("ecr").create_repository(repositoryName="orphans")
        code = tmp_path / "code"
        code.mkdir()
        (code / "app.py").write_text("def handler(event, context):\n    return 1\n")
        uri = cloud.push_folder(code, "orphans", "v1").json()["imageUri"]
        role = cloud.client("iam").create_role(RoleName="orphans", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = cloud.client("lambda")
        lam.create_function(FunctionName="orphans", PackageType="Image", Code={"ImageUri": uri}, Role=role)
        lam.get_waiter("function_active_v2").wait(FunctionName="orphans", WaiterConfig={"Delay": 0.2})
        assert lam.invoke(FunctionName="orphans")["Payload"].read() == b"1"
        records = sorted((home / "run").glob("*.pid"))
        children = [int(path.read_text().split()[0]) for path in records]
        # the registry and one environment, and the environment's forwarder where it has a namespace of its own
        kinds = sorted(path.stem.split("-")[0] for path in records)
        assert kinds in (["env", "registry"], ["bridge", "env", "registry"])
    finally:
        os.kill(cloud.pid, signal.SIGKILL)
    wait_for(lambda: not any(alive(pid) for pid in children), 10, what="the orphaned children ending")
    process.stop(home)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return b"zombie" not in Path(f"/proc/{pid}/status").read_bytes().lower() if Path(f"/proc/{pid}").exists() else True
