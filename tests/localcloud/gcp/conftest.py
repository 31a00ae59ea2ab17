"""Fixtures for Cloud Run in the stand-in: a real stand-in (docker mode), the official client, images.

Every test drives ``google-cloud-run``'s ``run_v2.ServicesClient`` over REST with anonymous
credentials against a stand-in on a free port, and real containers on the local engine.
They need a Docker engine and the slim Python base (docker/cloudrun/build-base.sh builds
its offline replica); without an engine they skip, or fail with LAB_REQUIRE_DOCKER=1.
"""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from pathlib import Path

import pytest
from cloudrun_support import IDLE_TIMEOUT_S, PARENT, PROJECT, REGION, public, run
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2

from localcloud import process

PROBE = Path(__file__).resolve().parent / "probe"


@pytest.fixture(scope="session")
def cloud(cloudrun_base):
    """A stand-in in docker mode whose idle instances retire after IDLE_TIMEOUT_S."""
    with process.running(mode="docker", run_idle_timeout=IDLE_TIMEOUT_S) as instance:
        yield instance


@pytest.fixture(scope="session")
def services(cloud) -> run_v2.ServicesClient:
    return run_v2.ServicesClient(transport="rest", credentials=AnonymousCredentials(),
                                 client_options=ClientOptions(api_endpoint=cloud.endpoint))


@pytest.fixture(scope="session")
def revisions(cloud) -> run_v2.RevisionsClient:
    return run_v2.RevisionsClient(transport="rest", credentials=AnonymousCredentials(),
                                  client_options=ClientOptions(api_endpoint=cloud.endpoint))


@pytest.fixture(scope="session")
def probe_image(cloud) -> str:
    """The probe container pushed under an Artifact Registry name; returns that name (no registry host)."""
    local = f"localcloud-tests/run-probe:{uuid.uuid4().hex[:6]}"
    name = f"{REGION}-docker.pkg.dev/{PROJECT}/tests/probe:latest"
    pushed = f"{cloud.endpoint.removeprefix('http://')}/{name}"
    run("docker", "build", "--network", "host", "--quiet", "--tag", local, str(PROBE))
    run("docker", "tag", local, pushed)
    run("docker", "push", "--quiet", pushed)
    yield name
    subprocess.run(["docker", "rmi", "--force", local, pushed], capture_output=True)


@pytest.fixture
def deploy(services):
    """deploy(service_spec, public=True) -> the ready Service; every service is deleted afterwards."""
    created: list[str] = []

    def make(spec: run_v2.Service, *, open_to_all: bool = True) -> run_v2.Service:
        service_id = f"t-{uuid.uuid4().hex[:8]}"
        created.append(f"{PARENT}/services/{service_id}")
        ready = services.create_service(parent=PARENT, service=spec, service_id=service_id).result(timeout=180)
        if open_to_all:
            public(services, ready.name)
        return ready

    yield make
    for name in created:
        with contextlib.suppress(exceptions.NotFound):  # the test deleted it already
            services.delete_service(name=name).result(timeout=60)
