"""``python -m checks class --mode deploy`` where Docker runs: every step graded, image and Cloud Run included.

The reference and a hostile submission (docker_hostile/: its ``push()`` asks its Docker for everything but its own
push, then pushes) are graded in Docker-mode stand-ins: step 3 builds each Dockerfile, the submission's own
``push()`` pushes it through its :class:`~checks.sandbox.dockergate.DockerGate`, the function runs that image,
and step 9 deploys the submission's service. Nothing the hostile one asked for happened, and it loses nothing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import mutation
import pytest
from classes import Listener, by_name, grade_class, gradebook, nothing_left, records, roster

from checks.sandbox import confine, container, tunnel
from labkit import dockercli

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent
TRACES = ("hostile-built", "hostile-copy")  # image names the hostile submission tries to make


@pytest.fixture(scope="module")
def docker_class(tmp_path_factory):
    if not (tunnel.available() and confine.confinable() and container.docker_available()
            and dockercli.engine_version()):
        pytest.skip("deploy mode with Docker needs root, a confinable sandbox and a running Docker engine")
    root = tmp_path_factory.mktemp("docker-class")
    hostile = by_name(HERE / "docker_hostile")["abuses_docker"]
    path = roster(root, [hostile], {})
    with Listener() as server:
        (root / "abuses_docker" / "code" / "targets.py").write_text(f"SERVER = {server.port}\n")
        done = grade_class(path, root / "out", "deploy", "--jobs", "2", "--cap", "500", timeout=900, docker="auto")
        heard = list(server.heard)
    return root, done, heard


def images() -> list[str]:
    """The repositories of the engine's images."""
    listed = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}"], capture_output=True, text=True,
                            check=True)
    return listed.stdout.split()


def test_deploy_mode_with_docker_grades_every_step_from_the_submissions_own_image(docker_class):
    root, done, _ = docker_class
    assert done.returncode == 0, done.stdout + done.stderr
    reference = records(root / "out")["reference"]
    assert reference["environment"]["docker"] == "auto"
    unsettled = [(r["name"], r["message"]) for r in reference["results"] if not r["passed"]]
    assert reference["earned"] == reference["possible"] and not unsettled, unsettled
    graded_steps = {r["step"] for r in reference["results"] if not r["skipped"]}
    assert graded_steps == set(range(1, 10))  # step 3's image and step 9's deployment included
    assert {op: v.split(" (")[0] for op, v in reference["driven"].items()} == dict.fromkeys(
        ("train", "publish", "function", "gateway", "latency", "cleanup", "service"), "ok")
    assert gradebook(root / "out")["reference"] == reference["possible"]
    nothing_left(root / "out")
    named = [r for r in images() if re.search(r"(^|/)lab-[0-9a-f]{8}(/|$)", r)]  # LAB_NAME: a class's resource prefix
    assert not named, named  # notebook 03's names, the pushed ones, the images the stand-ins pulled: all removed


def test_a_submissions_docker_does_nothing_but_its_own_push(docker_class):
    root, _, heard = docker_class
    found = records(root / "out")
    hostile = found["abuses-docker"]
    # had any request got through, its push() would have failed and its image checks with it
    assert hostile["driven"]["publish"].startswith("ok"), hostile["driven"]
    assert hostile["earned"] == hostile["possible"] == found["reference"]["possible"], [
        (r["name"], r["message"]) for r in hostile["results"] if not r["passed"]]
    assert heard == []  # the engine never logged in to the server it was given
    assert not [name for name in images() if name in TRACES or name.endswith("/stolen")]
    assert (mutation.SOLUTION / "registry.py").read_text().count("_hostile") == 0
