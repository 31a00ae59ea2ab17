"""A class submission's Docker (:class:`checks.sandbox.dockergate.DockerGate`): its own push, and nothing else.

What it refuses is pinned request by request; then the real ``docker`` CLI talks to the real engine through it.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import time

import pytest

from checks.sandbox import container, dockergate
from checks.sandbox.dockergate import DockerGate

OWN, REGISTRY = "lab-a1b2c3:latest", "127.0.0.1:40001"


@pytest.fixture
def gate():
    with DockerGate(OWN, REGISTRY) as opened:
        yield opened


@pytest.mark.parametrize(("method", "target", "body"), [
    ("HEAD", "/_ping", b""),
    ("GET", "/v1.47/version", b""),
    ("POST", "/v1.47/auth", json.dumps({"serveraddress": REGISTRY}).encode()),
    ("POST", "/v1.47/auth", json.dumps({"serveraddress": "http://127.0.0.1:40001/"}).encode()),
    ("GET", "/v1.47/images/lab-a1b2c3/json", b""),
    ("GET", "/v1.47/images/lab-a1b2c3:latest/history", b""),
    ("POST", f"/v1.47/images/lab-a1b2c3:latest/tag?repo={REGISTRY}/lab-a1b2c3&tag=latest", b""),
])
def test_what_its_own_push_needs_is_let_through(gate, method, target, body):
    assert gate.refusal(method, target, body) is None


@pytest.mark.parametrize(("method", "target", "body", "why"), [
    ("POST", "/v1.47/containers/create", b"{}", "only logs in, tags and pushes"),
    ("GET", "/v1.47/containers/json?all=1", b"", "only logs in, tags and pushes"),
    ("GET", "/v1.47/images/json", b"", "only logs in, tags and pushes"),
    ("GET", "/v1.47/info", b"", "only logs in, tags and pushes"),
    ("POST", "/v1.47/build?t=x", b"", "only logs in, tags and pushes"),
    ("POST", "/v1.47/images/create?fromImage=busybox", b"", "only logs in, tags and pushes"),
    ("DELETE", "/v1.47/images/lab-a1b2c3:latest", b"", "only logs in, tags and pushes"),
    ("POST", "/v1.47/auth", json.dumps({"serveraddress": "127.0.0.1:22"}).encode(), "only 127.0.0.1:40001"),
    ("POST", "/v1.47/auth", json.dumps({"serveraddress": "localhost:40001"}).encode(), "only 127.0.0.1:40001"),
    ("POST", "/v1.47/auth", b"not json", "not JSON"),
    ("GET", "http://elsewhere/v1.47/_ping", b"", "not a path"),
    ("POST", "//x/images/lab-a1b2c3/tag?repo=127.0.0.1:40001/x", b"", "not a path"),
    ("GET", "/v1.47/images/serverless-iris-grader-sandbox:1/json", b"", "not this submission's image"),
    ("POST", f"/v1.47/images/public.ecr.aws%2Flambda%2Fpython:3.11/tag?repo={REGISTRY}/stolen", b"", "only lab-a1b2c3"),
    ("POST", "/v1.47/images/lab-a1b2c3/tag?repo=elsewhere.example/x&tag=latest", b"", "only this stand-in's registry"),
    ("POST", f"/v1.47/images/lab-a1b2c3/tag?repo={REGISTRY}evil/x", b"", "only this stand-in's registry"),
    ("POST", f"/v1.47/images/lab-a1b2c3/tag?repo={REGISTRY}/../../containers/x", b"", "not an image name"),
    ("POST", f"/v1.47/images/{REGISTRY}/lab-a1b2c3/push?tag=latest", b"", "only an image tagged here"),
    ("POST", f"/v1.47/images/{REGISTRY}/lab-a1b2c3/push?tag=", b"", "every tag"),
])
def test_anything_else_is_refused_with_the_reason(gate, method, target, body, why):
    assert why in gate.refusal(method, target, body)


def test_a_push_is_let_through_only_for_what_it_tagged(gate):
    assert gate.refusal("POST", f"/v1.47/images/{OWN}/tag?repo={REGISTRY}/repo&tag=v1", b"") is None
    assert gate.refusal("POST", f"/v1.47/images/{REGISTRY}/repo/push?tag=v1", b"") is None
    assert "only an image tagged here" in gate.refusal("POST", f"/v1.47/images/{REGISTRY}/repo/push?tag=v2", b"")
    assert gate.refusal("GET", f"/v1.47/images/{REGISTRY}/repo:v1/json", b"") is None


def test_a_flood_of_connections_costs_the_grader_no_more_than_its_slots(gate):
    opened = []
    try:
        for _ in range(dockergate.AT_ONCE + 1):  # each holds its slot: it never finishes its request
            client = socket.socket(socket.AF_UNIX)
            client.connect(str(gate.path))
            opened.append(client)
        select.select(opened, [], [], 5)
        time.sleep(0.5)  # any other answer would have come by now
        answered, _, _ = select.select(opened, [], [], 0)
        answers = [client.recv(100)[:12] for client in answered]
    finally:
        for client in opened:
            client.close()
    assert answers == [b"HTTP/1.1 429"]


@pytest.mark.integration
def test_the_docker_cli_through_the_gate_reaches_its_own_image_and_is_told_why_for_the_rest(tmp_path):
    if not container.docker_available():
        pytest.skip("no Docker engine here")
    base = "public.ecr.aws/lambda/python:3.11"
    if subprocess.run(["docker", "image", "inspect", base], capture_output=True).returncode != 0:
        pytest.skip(f"{base} is not in the engine")
    own = f"lab-gate-test-{os.getpid()}:latest"
    subprocess.run(["docker", "tag", base, own], check=True, capture_output=True)
    try:
        with DockerGate(own, REGISTRY) as gate:
            env = {**os.environ, "DOCKER_HOST": f"unix://{gate.path}", "HOME": str(tmp_path)}

            def docker(*args: str) -> subprocess.CompletedProcess:
                return subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=60)

            assert docker("version", "--format", "{{.Server.Version}}").stdout.strip()
            assert docker("image", "inspect", own).returncode == 0
            assert docker("tag", own, f"{REGISTRY}/gate-test:latest").returncode == 0
            refused = docker("ps")
            assert refused.returncode != 0 and "refused by the grader" in refused.stderr
            refused = docker("tag", base, f"{REGISTRY}/stolen:latest")
            assert refused.returncode != 0 and f"only {own}" in refused.stderr
            assert docker("run", "--rm", base).returncode != 0
    finally:
        subprocess.run(["docker", "image", "rm", own, f"{REGISTRY}/gate-test:latest"], capture_output=True)
