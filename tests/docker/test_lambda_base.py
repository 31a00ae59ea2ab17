"""The Lambda base image (AWS's, or the offline replica from docker/lambda-base/) offers
what the lab's Dockerfile and the local runtime rely on: Python 3.11 and pip at
/var/lang/bin, the runtime interface client, LAMBDA_TASK_ROOT=/var/task, and an
entrypoint that serves a handler through the Runtime Interface Emulator."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from lambda_rie import run as rie

pytestmark = [pytest.mark.integration, pytest.mark.docker]

# Run inside the image: what a function's Dockerfile and Lambda's bootstrap see.
# awslambdaric lives on LAMBDA_RUNTIME_DIR in AWS's image and in /var/lang in the replica.
FACTS = textwrap.dedent(
    """
    import json, os, shutil, sys
    sys.path.append(os.environ.get("LAMBDA_RUNTIME_DIR", "/var/runtime"))
    import awslambdaric
    print(json.dumps({
        "version": list(sys.version_info[:2]),
        "prefix": sys.prefix,
        "python": shutil.which("python"),
        "pip": shutil.which("pip"),
        "cwd": os.getcwd(),
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        "awslambdaric": os.path.dirname(awslambdaric.__file__),
    }))
    """
)


@pytest.fixture(scope="module")
def facts(lambda_base, docker_cli) -> dict:
    run = docker_cli("run", "--rm", "--network", "host", "--entrypoint", "/var/lang/bin/python", lambda_base, "-c", FACTS)
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_python_3_11_and_pip_come_from_var_lang(facts):
    assert facts["version"] == [3, 11]
    assert facts["prefix"] == "/var/lang"
    assert facts["python"] == "/var/lang/bin/python"
    assert facts["pip"] == "/var/lang/bin/pip"


def test_runtime_interface_client_is_importable(facts):
    assert facts["awslambdaric"].endswith("/awslambdaric")


def test_task_root_is_var_task_and_the_working_directory(facts, base_config):
    assert facts["task_root"] == "/var/task"
    assert facts["cwd"] == "/var/task"
    assert base_config["WorkingDir"] == "/var/task"
    assert base_config["Entrypoint"] == ["/lambda-entrypoint.sh"]


def test_replica_trusts_this_machines_ca_bundle(lambda_base, is_replica, docker_cli):
    # given: only the replica copies this machine's CA bundle and pip settings
    if not is_replica:
        pytest.skip("AWS's own base image, not the replica")
    # when
    run = docker_cli("run", "--rm", "--network", "host", "--entrypoint", "/var/lang/bin/pip", lambda_base,
                 "config", "list")
    # then
    assert "global.cert='/etc/ssl/certs/ca-certificates.crt'" in run.stdout.splitlines()
    bundle = docker_cli("run", "--rm", "--network", "host", "--entrypoint", "cat", lambda_base,
                    "/etc/ssl/certs/ca-certificates.crt").stdout
    host_bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if host_bundle.exists():
        assert bundle == host_bundle.read_text()


def test_entrypoint_starts_the_rie_which_serves_the_handler(lambda_base, run_container, task_root, host_rie, tmp_path):
    # given: AWS_LAMBDA_RUNTIME_API unset, so /lambda-entrypoint.sh must start
    # /usr/local/bin/aws-lambda-rie. A wrapper mounted there adds our 127.0.0.1 addresses
    # (the RIE's default 0.0.0.0:8080 would clash between tests and leave 127.0.0.1).
    wrapper = tmp_path / "rie-wrapper"
    wrapper.write_text(
        '#!/bin/sh\nexec /opt/lab-rie "--runtime-interface-emulator-address=$LAB_RIE" '
        '"--runtime-api-address=$LAB_RUNTIME_API" "$@"\n'
    )
    wrapper.chmod(0o755)
    container = run_container(
        lambda rie, api: ["-e", f"LAB_RIE={rie}", "-e", f"LAB_RUNTIME_API={api}", lambda_base, "app.handler"],
        "-v", f"{task_root}:/var/task:ro",
        "-v", f"{host_rie}:/opt/lab-rie:ro",
        "-v", f"{wrapper}:/usr/local/bin/aws-lambda-rie:ro",
    )
    # when
    status, body = container.invoke({"hello": "world"})
    # then
    assert status == 200
    assert body["echo"] == {"hello": "world"}
    assert body["task_root"] == "/var/task" and body["python"] == [3, 11]


def test_rie_as_entrypoint_runs_the_image_entrypoint_as_bootstrap(lambda_base, task_root):
    # given: the way SAM CLI, the lab, the grader and the local stand-in run a function image (lambda_rie.run):
    # the RIE is the entrypoint and sets AWS_LAMBDA_RUNTIME_API before running /lambda-entrypoint.sh.
    with rie.running(lambda_base, environment={"AWS_LAMBDA_FUNCTION_TIMEOUT": "10"},
                     options=["-v", f"{task_root}:/var/task:ro"]) as function:
        # when: a cold call, then a warm one
        cold = function.invoke({"n": 1})
        warm = function.invoke({"n": 2})
        logs = function.logs()
    # then
    assert cold[0] == warm[0] == 200
    cold_body, warm_body = json.loads(cold[1]), json.loads(warm[1])
    assert cold_body["echo"] == {"n": 1} and warm_body["echo"] == {"n": 2}
    assert cold_body["request_id"] != warm_body["request_id"]
    assert "INIT REPORT" in logs or "REPORT RequestId" in logs
