"""``POST /_localcloud/host-images``: package a code folder as an image without Docker (host mode).

    POST /_localcloud/host-images?repositoryName=R&imageTag=T&command=app.handler&architecture=x86_64
    Content-Type: application/x-tar      (the folder's files, names relative to it; gzip allowed)

The stand-in never reads a folder it is told about: the client streams the folder as a
tar, which is unpacked safely (:mod:`localcloud.aws.ecr.layers`, at most 250 MB, Lambda's unzipped
package quota) into LOCALCLOUD_HOME, packed as a one-layer image (files under /var/task,
CMD from ``command``), pushed into the registry and recorded in ECR, so the rest of the
lab (``describe_images``, ``create_function(ImageUri=...)``) is unchanged. The image's digest
is recorded in the side table: that record, never anything inside an image, is what makes
a function run as a process on this machine in docker mode.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from localcloud.aws.ecr import images, layers
from localcloud.aws.ecr.api import EcrHook
from localcloud.aws.ecr.registry import TAG
from localcloud.aws.wire import AwsError, ImageTagAlreadyExists, InvalidParameter, RepositoryNotFound, RequestEntityTooLarge
from localcloud.edge import wsgi

if TYPE_CHECKING:
    from localcloud.cloud import Cloud

ARCHITECTURES = ("x86_64", "arm64")
MAX_UPLOAD = 250 * 1024 * 1024  # Lambda: 250 MB unzipped deployment package; the tar stream and its files


class ChunkStream:
    """A readable stream over an iterator of byte chunks (tarfile's stream mode reads from it)."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks, self.buffer = chunks, b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, b"")
            if not chunk:
                break
            self.buffer += chunk
        data, self.buffer = (self.buffer, b"") if size < 0 else (self.buffer[:size], self.buffer[size:])
        return data


def discard_unfinished(home: Path) -> str:
    """Before start: remove what uploads cut by a killed stand-in left under ``home/uploads``; the log line."""
    folder = home / "uploads"
    unfinished = list(folder.iterdir()) if folder.is_dir() else []
    for path in unfinished:
        shutil.rmtree(path, ignore_errors=True)
    return f"removed {len(unfinished)} unfinished host-image upload(s)"


class HostImages:
    def __init__(self, cloud: Cloud, ecr: EcrHook):
        self.registry, self.ecr, self.edge_host = cloud.registry, ecr, cloud.edge_host
        self.uploads = cloud.home / "uploads"
        self.lock, self.table, self.on_mutation = cloud.lock, cloud.table, cloud.changed

    def __call__(self, environ: dict, start_response: wsgi.StartResponse) -> list[bytes]:
        try:
            return wsgi.respond_json(start_response, 200, self.create(environ))
        except AwsError as error:
            return wsgi.respond_json(start_response, error.status, {"code": error.code, "message": str(error)},
                                     [("Connection", "close")])

    def create(self, environ: dict) -> dict:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        repository = query.get("repositoryName", [""])[-1]
        tag = query.get("imageTag", ["latest"])[-1]
        command = query.get("command") or ["app.handler"]
        architecture = query.get("architecture", ["x86_64"])[-1]
        if environ.get("CONTENT_TYPE", "").startswith("application/json"):
            raise InvalidParameter("send the folder as a tar (Content-Type: "
                             "application/x-tar) with repositoryName and imageTag in the query string")
        if not repository:
            raise InvalidParameter("repositoryName is required")
        if not TAG.match(tag):
            raise InvalidParameter(f"imageTag {tag!r} must satisfy regular expression "
                             f"'{TAG.pattern[1:-1]}'")
        if architecture not in ARCHITECTURES:
            raise InvalidParameter(f"architecture must be one of {', '.join(ARCHITECTURES)}")
        if not self.ecr.repository_exists(repository):
            raise RepositoryNotFound(f"The repository with name '{repository}' does not "
                             f"exist in the registry with id '{self.ecr.account}'")
        work = self.uploads / secrets.token_hex(8)
        try:
            self._unpack(environ, work / "code")
            return self._push(repository, tag, command, architecture, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _unpack(self, environ: dict, code: Path) -> None:
        unpacker = layers.Unpacker(code, cap=MAX_UPLOAD)
        try:
            with tarfile.open(fileobj=ChunkStream(wsgi.body_chunks(environ, MAX_UPLOAD)), mode="r|*") as tar:
                unpacker.apply(tar)
        except (wsgi.TooLarge, layers.TooLarge):
            raise RequestEntityTooLarge(f"the folder is over {MAX_UPLOAD} bytes (Lambda's unzipped package quota, "
                                        f"hardlinks counted as copies) or {layers.MAX_ENTRIES} entries") from None
        except layers.UnsafeEntry as error:
            raise InvalidParameter(f"refused tar entry {error}") from None
        except (tarfile.TarError, EOFError, OSError) as error:
            raise InvalidParameter(f"the body is not a tar of the folder: {error}") from None

    def _push(self, repository: str, tag: str, command: list[str], architecture: str, work: Path) -> dict:
        layer_path = work / "layer.tar.gz"
        config, manifest = images.pack_code_dir(work / "code", command, architecture, layer_path)
        digest = images.digest_of(manifest)
        refusal = self.ecr.push_error(repository, tag, manifest, digest)
        if refusal:
            raise ImageTagAlreadyExists(refusal)
        layer = json.loads(manifest)["layers"][0]
        with open(layer_path, "rb") as file:
            self.registry.push_blob(repository, layer["digest"], file, layer["size"])
        self.registry.push_blob(repository, images.digest_of(config), config)
        self.registry.put_manifest(repository, tag, images.DOCKER_MANIFEST, manifest)
        with self.lock:
            self.table.host_images.add(digest)
        self.ecr.record_push(repository, tag, images.DOCKER_MANIFEST, manifest, digest)
        self.on_mutation()
        return {"imageUri": f"{self.edge_host}/{repository}:{tag}", "imageDigest": digest}
