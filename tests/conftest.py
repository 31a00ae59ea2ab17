"""Shared fixtures: the reference model and handler, and the Docker engine and base images.

Tests that need Docker skip, with the reason shown, when no engine answers; with
``LAB_REQUIRE_DOCKER=1`` (CI) the skip becomes a failure, so nothing silently goes untested.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lab_solution import train

# The tests decide every lab and stand-in setting they depend on: none leaks in from the shell or from make
# (whose `export LAB_CODE` is for `make lab`). LAB_REQUIRE_DOCKER is CI's, and stays.
for _name in [n for n in os.environ if n.startswith(("LAB_", "LOCALCLOUD_")) and n != "LAB_REQUIRE_DOCKER"]:
    del os.environ[_name]

BASE_IMAGE = "public.ecr.aws/lambda/python:3.11"
REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items):
    """A test that needs a Docker engine, directly or through a fixture, carries the ``docker`` marker."""
    for item in items:
        if "docker_engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A folder holding the reference model.joblib and metadata.json."""
    folder = tmp_path_factory.mktemp("model")
    train.train(folder)
    return folder


@pytest.fixture(scope="session")
def app(model_dir):
    """lab_solution.app imported as Lambda would: LAMBDA_TASK_ROOT names the model's folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAMBDA_TASK_ROOT", str(model_dir))
        module = importlib.import_module("lab_solution.app")
        yield importlib.reload(module)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Skip (or fail with LAB_REQUIRE_DOCKER=1) unless a Docker engine answers."""
    if shutil.which("docker") is None:
        reason = "no docker command on PATH"
    else:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
        reason = "" if info.returncode == 0 else "no Docker engine answers `docker info` (run scripts/ensure-docker.sh)"
    if reason and os.environ.get("LAB_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{reason}; LAB_REQUIRE_DOCKER=1 needs an engine", pytrace=False)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def lambda_base(docker_engine) -> str:
    """The Lambda base image, pulled or built by docker/lambda-base/build.sh if missing."""
    if subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True).returncode != 0:
        build = subprocess.run([str(REPO / "docker/lambda-base/build.sh")], capture_output=True, text=True, timeout=900)
        if build.returncode != 0:
            pytest.fail(f"docker/lambda-base/build.sh failed: {(build.stderr or build.stdout).strip()[-2000:]}", pytrace=False)
    return BASE_IMAGE


@pytest.fixture(scope="session")
def cloudrun_base(docker_engine) -> str:
    """Cloud Run's slim Python base (``python:3.11-slim``), its offline replica built by docker/cloudrun/build-base.sh."""
    build = subprocess.run([str(REPO / "docker/cloudrun/build-base.sh")], capture_output=True, text=True, timeout=900)
    if build.returncode != 0:
        pytest.fail(f"docker/cloudrun/build-base.sh failed: {(build.stderr or build.stdout).strip()[-2000:]}", pytrace=False)
    return "python:3.11-slim"
