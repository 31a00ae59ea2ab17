"""Finding 3: host images come only from folders the client streams, safely unpacked, with a size cap."""

from __future__ import annotations

import io
import tarfile
import threading
import time

import pytest
import requests
from crafted import entry, tar_of, untouched

from memory import PeakMemory

pytestmark = pytest.mark.integration
CAP = 250 * 1024 * 1024


def post(lab, body, **params) -> requests.Response:
    return requests.post(f"{lab.endpoint}/_localcloud/host-images", data=body, timeout=60,
                         params={"repositoryName": "lc-tests", "imageTag": "upload", **params},
                         headers={"Content-Type": "application/x-tar"})


def test_the_stand_in_reads_no_folder_it_is_told_about(lab, tmp_path):
    # given: a secret on this machine, and the request of the old protocol naming its folder
    (tmp_path / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    answer = requests.post(f"{lab.endpoint}/_localcloud/host-images", timeout=30, json={
        "repositoryName": "lc-tests", "imageTag": "secret", "codeDir": str(tmp_path)})
    # then
    assert answer.status_code == 400
    assert requests.get(f"{lab.endpoint}/v2/lc-tests/manifests/secret").status_code == 404


def test_an_uploaded_folder_becomes_an_image(lab, tmp_path):
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 'uploaded'\n")
    answer = lab.cloud.push_folder(tmp_path, "lc-tests", "uploaded")
    assert answer.status_code == 200, answer.text
    name = lab.function("echo", image=answer.json()["imageUri"])
    assert lab.invoke(name)[0] == "uploaded"
    assert not list((lab.cloud.home / "uploads").iterdir())  # the unpacked upload is gone once pushed


@pytest.mark.parametrize("entries", [
    [entry("escape", tarfile.SYMTYPE, link="{victim}"), entry("escape/new.txt", data=b"pwned")],
    [entry("../" * 20 + "{up}/new.txt", data=b"pwned")],
    [entry("{victim}/existing.txt", data=b"pwned")],
    [entry("escape", tarfile.SYMTYPE, link="../" * 20 + "{up}"), entry("escape/.wh.existing.txt")],
], ids=["absolute link", "dot-dot", "absolute name", "whiteout through a link"])
def test_a_crafted_upload_cannot_touch_files_outside(lab, victim, entries):
    up = str(victim).lstrip("/")
    body = tar_of(*[(name.format(victim=victim, up=up), kind, data, link.format(victim=victim, up=up))
                    for name, kind, data, link in entries])
    answer = post(lab, body)
    assert answer.status_code == 400 and answer.json()["code"] == "InvalidParameterException"
    assert untouched(victim)


def test_an_upload_over_the_cap_is_refused_while_reading(lab):
    # given: a tar whose one file claims more than 250 MB; only its first megabyte is ever sent
    header = tarfile.TarInfo("model.bin")
    header.size = CAP + 1
    head = header.tobuf(format=tarfile.PAX_FORMAT)
    sent = threading.Event()

    def body():
        yield head
        for _ in range(16):
            yield b"\0" * 65536
        sent.set()
        time.sleep(3)  # the rest never comes: the answer must not wait for it

    started = time.monotonic()
    answer = post(lab, body())
    assert answer.status_code == 413 and time.monotonic() - started < 10


def test_a_large_upload_is_streamed_not_held_in_memory(lab):
    # given: 120 MB of files (under the cap)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("app.py"), io.BytesIO(b""))
        big = tarfile.TarInfo("weights.bin")
        big.size = 120 * 1024 * 1024

        class Zeros(io.RawIOBase):
            left = big.size

            def read(self, size=-1):
                size = min(self.left, 1 << 20 if size < 0 else size)
                self.left -= size
                return b"\0" * size
        tar.addfile(big, Zeros())
    raw.seek(0)
    # when
    with PeakMemory(lab.cloud.pid) as memory:
        answer = post(lab, iter(lambda: raw.read(1 << 20), b""), imageTag="big")
    # then
    assert answer.status_code == 200, answer.text
    assert memory.rise_mb < 60
