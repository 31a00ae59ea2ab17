"""Helpers for the security tests: crafted tar streams, images pushed through the edge's registry protocol."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import requests

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = "") -> tuple:
    return name, kind, data, link


def tar_of(*entries: tuple) -> bytes:
    """A tar stream of (name, type, data, link) entries, written as given (no sanitising)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data, link in entries:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data)
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            tar.addfile(info, io.BytesIO(data) if data else None)
    return raw.getvalue()


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(endpoint: str, repository: str, data: bytes) -> str:
    start = requests.post(f"{endpoint}/v2/{repository}/blobs/uploads/", timeout=30)
    assert start.status_code == 202, start.text
    location = start.headers["Location"]
    location = location if location.startswith("http") else endpoint + location
    done = requests.put(location, params={"digest": digest(data)}, data=data, timeout=60,
                        headers={"Content-Type": "application/octet-stream"})
    assert done.status_code == 201, done.text
    return digest(data)


def push_image(lab, repository: str, tag: str, layer_tars: list[bytes]) -> str:
    """A Lambda-shaped image whose layers are ``layer_tars`` (gzipped here); returns its ImageUri."""
    layers = [gzip.compress(layer) for layer in layer_tars]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["app.handler"], "Entrypoint": ["/lambda-entrypoint.sh"],
                                    "WorkingDir": "/var/task"},
                         "rootfs": {"type": "layers", "diff_ids": [digest(layer) for layer in layer_tars]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": push_blob(lab.endpoint, repository, config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                    "digest": push_blob(lab.endpoint, repository, layer)} for layer in layers]}).encode()
    put = requests.put(f"{lab.endpoint}/v2/{repository}/manifests/{tag}", data=manifest, timeout=30,
                       headers={"Content-Type": DOCKER_MANIFEST})
    assert put.status_code == 201, put.text
    return f"{lab.host}/{repository}:{tag}"


def untouched(folder) -> bool:
    return (sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")) == ["existing.txt", "sub",
                                                                                          "sub/kept.txt"]
            and (folder / "existing.txt").read_text() == "original")
