"""A registry seeded with layers (``LOCALCLOUD_REGISTRY_SEED``): a push finds them and uploads only the rest.

Real stand-ins, the real docker CLI and engine. The seed is made the way the class grader makes it: an image
pushed once into a stand-in of its own, its layers saved (:meth:`localcloud.process.Instance.save_layers`).
"""

from __future__ import annotations

import hashlib
import secrets
import subprocess

import pytest
import requests

from localcloud import process

REPOSITORY = "seeded/app"


def docker(*args: str, input: str | None = None) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, input=input, timeout=300)
    assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr.strip()}"
    return done.stdout


@pytest.fixture
def images(tmp_path, docker_engine):
    """A base image of one layer (random bytes: no other test's) and an app image on top of it, removed after."""
    (tmp_path / "context").mkdir()
    (tmp_path / "context" / "base.bin").write_bytes(secrets.token_bytes(256 * 1024))
    (tmp_path / "context" / "app.txt").write_text(secrets.token_hex(16))
    token = secrets.token_hex(4)
    base, app = f"localcloud-tests/seed-base:{token}", f"localcloud-tests/seed-app:{token}"
    docker("build", "--quiet", "--tag", base, "--file", "-", str(tmp_path / "context"), input="FROM scratch\nCOPY base.bin /\n")
    docker("build", "--quiet", "--tag", app, "--file", "-", str(tmp_path / "context"), input=f"FROM {base}\nCOPY app.txt /\n")
    names = [base, app]
    yield base, app, names
    subprocess.run(["docker", "rmi", "--force", *names], capture_output=True)


def push(cloud: process.Instance, image: str, names: list[str], repository: str = REPOSITORY) -> dict[str, str]:
    """Push ``image`` into ``repository`` (created in ECR first); what docker said of each layer."""
    cloud.client("ecr").create_repository(repositoryName=repository)
    target = f"127.0.0.1:{cloud.port}/{repository}:v1"
    docker("tag", image, target)
    names.append(target)
    said = {}
    for line in docker("push", target).splitlines():
        layer, _, status = line.partition(": ")
        if status in ("Pushed", "Layer already exists"):
            said[layer] = status
    return said


def test_a_push_into_a_seeded_stand_in_uploads_only_the_layers_the_seed_lacks(tmp_path, images):
    base, app, names = images
    # given: the base image pushed once, its layer saved as the seed
    with process.running(home=tmp_path / "maker", mode="host") as maker:
        assert list(push(maker, base, names, "seed").values()) == ["Pushed"]
        seeded = maker.save_layers("seed", "v1", tmp_path / "seed")
    seed_file = tmp_path / "seed" / "sha256" / seeded[0][7:9] / seeded[0][7:] / "data"
    assert hashlib.sha256(seed_file.read_bytes()).hexdigest() == seeded[0][7:]

    # when: the app image (the base's layer and one of its own) is pushed into a stand-in started with the seed,
    # and into one started without
    with process.running(home=tmp_path / "seeded", mode="host", registry_seed=tmp_path / "seed") as cloud:
        said = push(cloud, app, names)
        layer = requests.get(f"{cloud.endpoint}/v2/{REPOSITORY}/blobs/{seeded[0]}", timeout=30)
        listed = cloud.client("ecr").describe_images(repositoryName=REPOSITORY)["imageDetails"]
        cloud.client("ecr").delete_repository(repositoryName=REPOSITORY, force=True)
    with process.running(home=tmp_path / "plain", mode="host") as plain:
        unseeded = push(plain, app, names)

    # then: only the app's own layer was uploaded to the seeded one, and the repository serves the seeded layer whole
    assert sorted(said.values()) == ["Layer already exists", "Pushed"], said
    assert sorted(unseeded.values()) == ["Pushed", "Pushed"], unseeded
    assert layer.status_code == 200 and hashlib.sha256(layer.content).hexdigest() == seeded[0][7:]
    assert [image["imageTags"] for image in listed] == [["v1"]]
    # and the seed is as it was, though the repository was deleted and the stand-in gone
    assert hashlib.sha256(seed_file.read_bytes()).hexdigest() == seeded[0][7:]


def test_only_a_repository_the_cloud_has_gets_a_seeded_layer(tmp_path, images):
    base, _, names = images
    with process.running(home=tmp_path / "maker", mode="host") as maker:
        push(maker, base, names, "seed")
        digest = maker.save_layers("seed", "v1", tmp_path / "seed")[0]
    with process.running(home=tmp_path / "seeded", mode="host", registry_seed=tmp_path / "seed") as cloud:
        cloud.client("ecr").create_repository(repositoryName="known")
        unknown = requests.head(f"{cloud.endpoint}/v2/unknown/blobs/{digest}", timeout=10)
        other = requests.head(f"{cloud.endpoint}/v2/known/blobs/sha256:{'0' * 64}", timeout=10)
        known = requests.head(f"{cloud.endpoint}/v2/known/blobs/{digest}", timeout=10)
    assert (unknown.status_code, other.status_code, known.status_code) == (404, 404, 200)


def test_a_seed_that_is_not_a_folder_stops_the_start_with_the_reason(tmp_path):
    with (pytest.raises(process.StartError, match="LOCALCLOUD_REGISTRY_SEED"),
          process.running(home=tmp_path / "home", mode="host", registry_seed=tmp_path / "missing")):
        pass
