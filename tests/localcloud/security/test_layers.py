"""Finding 2: image layers and ECR tags never reach outside LOCALCLOUD_HOME."""

from __future__ import annotations

import os
import tarfile
import uuid

import pytest
import requests
from botocore.exceptions import ClientError
from crafted import entry, push_image, tar_of, untouched

pytestmark = pytest.mark.integration
SYM, DIR = tarfile.SYMTYPE, tarfile.DIRTYPE
APP = entry("var/task/app.py", data=b"def handler(event, context):\n    return 1\n")


ATTACKS = ("write through an absolute link", "overwrite through a relative link", "whiteout through a link",
           "opaque whiteout through a link", "hard link to a file outside", "dot-dot names")


def attacks(victim) -> dict[str, list[bytes]]:
    """Layer stacks that, unpacked naively, write, overwrite or delete inside ``victim``."""
    up = os.path.relpath(victim, "/")
    plant = tar_of(entry("var", DIR), entry("var/task", DIR), APP, entry("var/task/escape", SYM, link=str(victim)))
    plant_relative = tar_of(entry("var", DIR), entry("var/task", DIR), APP,
                            entry("var/task/escape", SYM, link="../../" * 20 + up))
    return {
        "write through an absolute link": [plant, tar_of(entry("var/task/escape/new.txt", data=b"pwned"))],
        "overwrite through a relative link": [plant_relative, tar_of(entry("var/task/escape/existing.txt",
                                                                           data=b"pwned"))],
        "whiteout through a link": [plant, tar_of(entry("var/task/escape/.wh.existing.txt"))],
        "opaque whiteout through a link": [plant, tar_of(entry("var/task/escape/sub/.wh..wh..opq"))],
        "hard link to a file outside": [tar_of(entry("var", DIR), entry("var/task", DIR), APP,
                                               entry("var/task/copy", tarfile.LNKTYPE, link=str(victim / "existing.txt")))],
        "dot-dot names": [tar_of(APP, entry("var/task/../../" + "../" * 20 + up + "/new.txt", data=b"pwned"))],
    }


@pytest.mark.parametrize("lab", ["host"], indirect=True)
@pytest.mark.parametrize("attack", ATTACKS)
def test_a_crafted_image_cannot_touch_files_outside_the_home(lab, victim, attack):
    # given
    uri = push_image(lab, "lc-tests", f"crafted-{uuid.uuid4().hex[:8]}", attacks(victim)[attack])
    # when
    name = f"crafted-{uuid.uuid4().hex[:6]}"
    lab.lam.create_function(FunctionName=name, PackageType="Image", Role=lab.role, Code={"ImageUri": uri})
    state = lab.settled(name)
    # then
    assert untouched(victim)
    if state["State"] == "Active":  # an entry that was skipped, not refused: the function runs without it
        assert lab.invoke(name)[0] == 1


@pytest.mark.parametrize("lab", ["host"], indirect=True)
def test_a_harmless_layer_stack_with_whiteouts_unpacks_as_docker_would(lab):
    lower = tar_of(entry("var", DIR), entry("var/task", DIR), APP, entry("var/task/gone.txt", data=b"x"),
                   entry("var/task/data", DIR), entry("var/task/data/old.txt", data=b"x"),
                   entry("var/task/link", SYM, link="app.py"))
    upper = tar_of(entry("var/task/.wh.gone.txt"), entry("var/task/data/new.txt", data=b"y"),
                   entry("var/task/data/.wh..wh..opq"))
    uri = push_image(lab, "lc-tests", f"whiteouts-{uuid.uuid4().hex[:8]}", [lower, upper])
    name = lab.function("echo", image=uri)
    assert lab.invoke(name)[0] == 1
    digest = lab.lam.get_function(FunctionName=name)["Configuration"]["CodeSha256"]
    task_root = lab.cloud.home / "images" / f"sha256-{digest}" / "var" / "task"
    assert sorted(os.listdir(task_root)) == ["app.py", "data", "link"]  # gone.txt whited out
    assert os.listdir(task_root / "data") == ["new.txt"]  # the opaque whiteout hid the lower layer only
    assert os.readlink(task_root / "link") == "app.py"


@pytest.mark.parametrize("tag", ["/tmp/x", "../../../../x", "a/b", ".hidden", "-dash", "x" * 129, "sp ace"])
def test_image_tags_are_validated_as_ecr_does(lab, tag, tmp_path):
    # given: a folder an unchecked tag would name
    doomed = tmp_path / "doomed"
    doomed.mkdir()
    manifest = requests.get(f"{lab.endpoint}/v2/lc-tests/manifests/{lab.image('echo').rsplit(':', 1)[1]}",
                            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}).text
    tag = str(doomed) if tag == "/tmp/x" else tag
    # when
    with pytest.raises(ClientError) as refused:
        lab.ecr.put_image(repositoryName="lc-tests", imageManifest=manifest, imageTag=tag)
    lab.ecr.batch_delete_image(repositoryName="lc-tests", imageIds=[{"imageTag": tag}])
    # then
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "failed to satisfy constraint" in refused.value.response["Error"]["Message"]
    assert doomed.is_dir()


def test_valid_tags_still_work(lab):
    manifest = requests.get(f"{lab.endpoint}/v2/lc-tests/manifests/{lab.image('echo').rsplit(':', 1)[1]}",
                            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}).text
    for tag in ("v1.2_3-rc", "_x", "A" * 128):
        lab.ecr.put_image(repositoryName="lc-tests", imageManifest=manifest, imageTag=tag)
        found = lab.ecr.describe_images(repositoryName="lc-tests", imageIds=[{"imageTag": tag}])["imageDetails"]
        assert tag in found[0]["imageTags"]
