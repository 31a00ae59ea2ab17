"""Findings M1, M2, L2: extraction caps count hardlinks and entries; links may not escape together."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import uuid

import pytest
import requests
from crafted import entry, push_image, tar_of, untouched

from localcloud.aws.ecr import images, layers

SYM, DIR, LNK = tarfile.SYMTYPE, tarfile.DIRTYPE, tarfile.LNKTYPE
MB = 1024 * 1024
APP = entry("var/task/app.py", data=b"def handler(event, context):\n    return 1\n")
CHAIN = [entry("var", DIR), entry("var/task", DIR), APP,  # each link passes data_filter on its own
         entry("var/task/l", SYM, link="x/x/x/x/x/x/x/x/" + "../" * 8), entry("var/task/x", SYM, link=".")]


def unpack(root, data: bytes, **options) -> layers.Unpacker:
    unpacker = layers.Unpacker(root, **options)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
        unpacker.apply(tar)
    return unpacker


def test_hardlink_copies_count_toward_the_cap(tmp_path):
    links = [entry(f"link{i}", LNK, link="big") for i in range(10)]
    with pytest.raises(layers.TooLarge):
        unpack(tmp_path / "root", tar_of(entry("big", data=b"\0" * MB), *links), cap=5 * MB)
    assert sum(path.stat().st_size for path in (tmp_path / "root").iterdir()) <= 5 * MB


def test_a_hardlink_within_the_cap_is_a_copy_of_the_file(tmp_path):
    unpacker = unpack(tmp_path / "root", tar_of(entry("a", data=b"12345"), entry("b", LNK, link="a")), cap=10)
    assert (tmp_path / "root" / "b").read_bytes() == b"12345" and unpacker.size == 10


def test_the_number_of_entries_is_capped(tmp_path):
    with pytest.raises(layers.TooLarge):
        unpack(tmp_path / "root", tar_of(*[entry(f"f{i}") for i in range(11)]), max_entries=10)


def test_links_that_escape_together_are_refused(tmp_path):
    with pytest.raises(layers.UnsafeEntry):
        unpack(tmp_path / "root", tar_of(*CHAIN))


def test_links_that_stay_inside_are_kept(tmp_path):
    unpack(tmp_path / "root", tar_of(entry("d", DIR), entry("d/f", data=b"x"), entry("l", SYM, link="d/f"),
                                     entry("up", SYM, link="d/.."), entry("dangling", SYM, link="d/none")))
    assert (tmp_path / "root" / "l").read_text() == "x" and os.path.islink(tmp_path / "root" / "up")


class Blobs:
    """A registry stand-in for extract_task_root: each digest's bytes."""

    def __init__(self, blobs: dict[str, bytes]):
        self.blobs = blobs

    def blob(self, repository: str, digest: str):
        stream = io.BytesIO(self.blobs[digest])
        stream.release_conn = lambda: None
        return stream


def test_an_image_over_the_cap_is_refused_and_leaves_nothing(tmp_path):
    layer = gzip.compress(tar_of(entry("var", DIR), entry("var/task", DIR), entry("var/task/big", data=b"\0" * 2 * MB)))
    manifest = {"layers": [{"mediaType": images.LAYER_TYPES[0], "digest": "sha256:" + "0" * 64}]}
    with pytest.raises(layers.TooLarge, match="too large"):
        images.extract_task_root(Blobs({"sha256:" + "0" * 64: layer}), "r", manifest, tmp_path / "image", cap=MB)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration
def test_an_upload_with_hardlinks_over_250_mb_is_refused(lab):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w|gz") as tar:
        big = tarfile.TarInfo("model.bin")
        big.size = 130 * MB
        tar.addfile(big, io.BytesIO(b"\0" * big.size))
        link = tarfile.TarInfo("copy.bin")
        link.type, link.linkname = LNK, "model.bin"
        tar.addfile(link)
    answer = requests.post(f"{lab.endpoint}/_localcloud/host-images", data=raw.getvalue(), timeout=60,
                           params={"repositoryName": "lc-tests", "imageTag": "hardlinks"},
                           headers={"Content-Type": "application/x-tar"})
    assert answer.status_code == 413 and answer.json()["code"] == "RequestEntityTooLargeException", answer.text
    assert not list((lab.cloud.home / "uploads").iterdir())


@pytest.mark.integration
def test_an_upload_whose_links_escape_together_is_refused(lab):
    body = tar_of(*[(name.removeprefix("var/task/"), kind, data, link) for name, kind, data, link in CHAIN[2:]])
    answer = requests.post(f"{lab.endpoint}/_localcloud/host-images", data=body, timeout=60,
                           params={"repositoryName": "lc-tests", "imageTag": "chain"},
                           headers={"Content-Type": "application/x-tar"})
    assert answer.status_code == 400 and "resolves outside" in answer.json()["message"], answer.text


@pytest.mark.integration
@pytest.mark.parametrize("lab", ["host"], indirect=True)
def test_an_image_whose_links_escape_together_leaves_the_function_failed(lab, victim):
    uri = push_image(lab, "lc-tests", f"chain-{uuid.uuid4().hex[:8]}", [tar_of(*CHAIN)])
    name = f"chain-{uuid.uuid4().hex[:6]}"
    lab.lam.create_function(FunctionName=name, PackageType="Image", Role=lab.role, Code={"ImageUri": uri})
    state = lab.settled(name)
    assert state["State"] == "Failed" and "resolves outside" in state["StateReason"], json.dumps(state)
    assert not [path for path in (lab.cloud.home / "images").rglob("*") if path.is_symlink()
                and not os.path.realpath(path).startswith(str(lab.cloud.home))]
    assert untouched(victim)
