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
    ("POST", f"/v1.47/images/public.ecr.aws/lambda/python:3.11/tag?repo={REGISTRY}/stolen", b"", "only lab-a1b2c3"),
    ("POST", f"/v1.47/images/public.ecr.aws%2Flambda%2Fpython:3.11/tag?repo={REGISTRY}/stolen", b"", "an encoded '/'"),
    ("GET", "/v1.41/_ping#/../containers/json", b"", "not a path"),
    ("GET", "/v1.41/images/lab-a1b2c3:latest/json#/../../../info", b"", "not a path"),
    ("GET", "/v1.41/images/../containers/json", b"", "not a path"),
    # Docker reads a form body before the query: a tag call with a body could name any image
    ("POST", f"/v1.47/images/lab-a1b2c3/tag?repo={REGISTRY}/x&tag=latest", b"repo=victim&tag=1", "only logs in"),
    ("POST", f"/v1.47/images/{REGISTRY}/x/push?tag=latest", b"tag=leftover", "only logs in"),
    # Go's Form.Get reads the first value, Python the last or the non-blank one
    ("POST", f"/v1.47/images/{REGISTRY}/x/push?tag=&tag=a", b"", "once, none of them blank"),
    ("POST", f"/v1.47/images/lab-a1b2c3/tag?repo={REGISTRY}/x&repo=victim", b"", "once, none of them blank"),
    ("POST", f"/v1.47/images/lab-a1b2c3/tag?repo={REGISTRY}/x&force=1", b"", "only logs in"),
    # Go's JSON decoder matches keys without case, the last one winning
    ("POST", "/v1.47/auth", json.dumps({"serveraddress": REGISTRY, "ServerAddress": "127.0.0.1:22"}).encode(), "each once"),
    ("POST", "/v1.47/auth", json.dumps({"serveraddress": REGISTRY, "\u017fervers": "x"}).encode(), "each once"),
    ("POST", "/v1.47/auth", b'{"serveraddress": "127.0.0.1:40001", "serveraddress": "127.0.0.1:22"}', "each once"),
    ("POST", "/v1.47/auth", b"[" * 60_000, "not JSON"),
    ("POST", "/v1.47/images/lab-a1b2c3/tag?repo=elsewhere.example/x&tag=latest", b"", "only this stand-in's registry"),
    ("POST", f"/v1.47/images/lab-a1b2c3/tag?repo={REGISTRY}evil/x", b"", "only this stand-in's registry"),
    ("POST", f"/v1.47/images/lab-a1b2c3/tag?repo={REGISTRY}/../../containers/x", b"", "not an image name"),
    ("POST", f"/v1.47/images/{REGISTRY}/lab-a1b2c3/push?tag=latest", b"", "only an image tagged here"),
    ("POST", f"/v1.47/images/{REGISTRY}/lab-a1b2c3/push?tag=", b"", "none of them blank"),
    ("POST", f"/v1.47/images/{REGISTRY}/lab-a1b2c3/push", b"", "only logs in"),
])
def test_anything_else_is_refused_with_the_reason(gate, method, target, body, why):
    assert why in gate.refusal(method, target, body)


def test_the_engine_gets_the_request_rebuilt_from_what_was_checked_and_a_push_only_of_what_it_tagged(gate):
    headers = {b"user-agent": b"Docker-Client/28", b"content-type": b"application/x-www-form-urlencoded",
               b"x-registry-auth": b"e30="}
    tag = gate.admit("POST", f"/v1.47/images/{OWN}/tag?tag=v1&repo={REGISTRY}/repo", b"", headers)
    assert (tag.target, tag.body, tag.headers, tag.tags) == (
        "/v1.47/images/lab-a1b2c3:latest/tag?repo=127.0.0.1%3A40001%2Frepo&tag=v1", b"",
        (("user-agent", "Docker-Client/28"),), f"{REGISTRY}/repo:v1")
    push = f"/v1.47/images/{REGISTRY}/repo/push?tag=v1"
    assert "only an image tagged here" in gate.refusal("POST", push)  # not before the engine has made the name
    gate.tagged.add(tag.tags)  # what the engine's 201 to that call does
    pushed = gate.admit("POST", push, b"", headers)
    assert pushed.target == push and dict(pushed.headers) == {"user-agent": "Docker-Client/28", "x-registry-auth": "e30="}
    assert "only an image tagged here" in gate.refusal("POST", f"/v1.47/images/{REGISTRY}/repo/push?tag=v2")
    assert gate.refusal("GET", f"/v1.47/images/{REGISTRY}/repo:v1/json") is None
    login = gate.admit("POST", "/v1.47/auth", json.dumps({"username": "AWS", "password": "p",
                                                          "serveraddress": REGISTRY}).encode(), headers)
    assert json.loads(login.body) == {"username": "AWS", "password": "p", "serveraddress": REGISTRY}
    assert login.headers == (("Content-Type", "application/json"),)


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
            assert docker("image", "inspect", f"{REGISTRY}/gate-test:latest").returncode == 0  # made, so readable
            refused = docker("ps")
            assert refused.returncode != 0 and "refused by the grader" in refused.stderr
            refused = docker("tag", base, f"{REGISTRY}/stolen:latest")
            assert refused.returncode != 0 and f"only {own}" in refused.stderr
            assert docker("run", "--rm", base).returncode != 0
    finally:
        subprocess.run(["docker", "image", "rm", own, f"{REGISTRY}/gate-test:latest"], capture_output=True)
