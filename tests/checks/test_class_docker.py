"""``python -m checks class --mode deploy`` where Docker runs: every step graded, image and Cloud Run included.

A class of one: the reference with a hostile ``push()`` (docker_hostile/: it asks its Docker for everything but
its own push, then pushes), graded in a Docker-mode stand-in. Step 3 builds its Dockerfile, its own ``push()``
pushes that image through its :class:`~checks.sandbox.dockergate.DockerGate`, the function runs it, and step 9
deploys its service. Had anything it asked for happened, its push would have failed: it gets full marks.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import mutation
import pytest
from classes import Listener, by_name, grade_class, gradebook, nothing_left, records

from checks.sandbox import confine, container, tunnel
from labkit import dockercli

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent
TRACES = ("hostile-built", "hostile-copy")  # image names the hostile submission tries to make
STUDENT = "abuses-docker"


@pytest.fixture(scope="module")
def docker_class(tmp_path_factory):
    if not (tunnel.available() and confine.confinable() and container.docker_available()
            and dockercli.engine_version()):
        pytest.skip("deploy mode with Docker needs root, a confinable sandbox and a running Docker engine")
    root = tmp_path_factory.mktemp("docker-class")
    code = mutation.submission(by_name(HERE / "docker_hostile")["abuses_docker"], root / "made")
    with Listener() as server:
        (code / "targets.py").write_text(f"SERVER = {server.port}\n")
        shutil.copytree(code, root / "class" / STUDENT)
        done = grade_class(root / "class", root / "out", "deploy", "--cap", "500", timeout=900, docker="auto")
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
    found = records(root / "out")[STUDENT]
    assert found["environment"]["docker"] == "auto"
    unsettled = [(r["name"], r["message"]) for r in found["results"] if not r["passed"]]
    assert found["earned"] == found["possible"] and not unsettled, unsettled
    graded_steps = {r["step"] for r in found["results"] if not r["skipped"]}
    assert graded_steps == set(range(1, 10))  # step 3's image and step 9's deployment included
    assert {op: v.split(" (")[0] for op, v in found["driven"].items()} == dict.fromkeys(
        ("train", "publish", "function", "gateway", "latency", "cleanup", "service"), "ok")
    assert gradebook(root / "out")[STUDENT] == found["possible"]
    assert re.search(r"^registries seeded: \d+ layers", done.stdout, re.M), done.stdout  # checks.classroom.seed
    nothing_left(root / "out")
    named = [r for r in images() if re.search(r"(^|/)lab-(seed-)?[0-9a-f]{8}(/|$)", r)]  # the class's resource prefixes
    assert not named, named  # notebook 03's names, the pushed ones, the images the stand-ins pulled: all removed


def test_a_submissions_docker_does_nothing_but_its_own_push(docker_class):
    root, _, heard = docker_class
    found = records(root / "out")[STUDENT]
    # had any request got through, its push() would have failed and its image checks with it
    assert found["driven"]["publish"].startswith("ok"), found["driven"]
    assert heard == []  # the engine never logged in to the server it was given
    assert not [name for name in images() if name in TRACES or name.endswith("/stolen")]
    assert (mutation.SOLUTION / "registry.py").read_text().count("_hostile") == 0
