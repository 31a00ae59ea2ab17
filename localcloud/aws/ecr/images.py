"""Container images as Lambda sees them: which manifests it accepts, and their parts.

Also the two host-mode conversions: packing a code folder into a one-layer image
(``POST /_localcloud/host-images``) and extracting an image's ``/var/task`` to run it
on this machine (safely: :mod:`localcloud.aws.ecr.layers`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import secrets
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from localcloud.aws.ecr import layers
from localcloud.aws.ecr.registry import Registry

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPES = ("application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json")
CONFIG_TYPES = ("application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json")
LAYER_TYPES = ("application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.oci.image.layer.v1.tar+gzip",
               "application/vnd.oci.image.layer.v1.tar")
TASK_ROOT = "var/task"
MAX_CONFIG = 4 * 1024 * 1024  # an image config is read whole: held to what a manifest may be (distribution, ECR)
PARTIAL, COMPLETE = ".partial-", ".complete"  # an unfinished extraction's folder suffix; a finished one's marker
MAX_IMAGE_BYTES = 10 * 1024**3  # Lambda: 10 GB uncompressed container image
DISK_RESERVE = 1024**3  # an extraction leaves at least this much of the disk free


@dataclass
class ImageConfig:
    """The parts of an image's config that decide how Lambda starts it."""

    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    workdir: str = ""
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    architecture: str = "amd64"
    volumes: list[str] = field(default_factory=list)  # the image's VOLUME paths

    @classmethod
    def parse(cls, document: dict) -> ImageConfig:
        config = document.get("config") or {}
        env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
        return cls(config.get("Entrypoint") or [], config.get("Cmd") or [], config.get("WorkingDir") or "",
                   env, config.get("Labels") or {}, document.get("architecture", "amd64"),
                   sorted(config.get("Volumes") or {}))


def unsupported_by_lambda(media_type: str, manifest: dict) -> bool:
    """True for manifests Lambda refuses: indexes (multi-platform or with attestations), odd media types.

    AWS: "The image manifest, config or layer media type for the source image ... is not supported."
    """
    media_type = media_type or manifest.get("mediaType", "")
    if media_type in INDEX_TYPES or "manifests" in manifest:
        return True
    if media_type not in (DOCKER_MANIFEST, OCI_MANIFEST):
        return True
    if manifest.get("config", {}).get("mediaType") not in CONFIG_TYPES:
        return True
    return any(layer.get("mediaType") not in LAYER_TYPES for layer in manifest.get("layers", []))


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_config(registry: Registry, repository: str, manifest: dict) -> ImageConfig:
    """The image's config, read up to :data:`MAX_CONFIG` bytes and no further (a pushed config blob may be as
    large as a layer); layers.TooLarge for a larger one."""
    response = registry.blob(repository, manifest["config"]["digest"])
    try:
        data = response.read(MAX_CONFIG + 1)
    finally:
        response.release_conn()
    if len(data) > MAX_CONFIG:
        raise layers.TooLarge(f"its config is over {MAX_CONFIG} bytes (the largest manifest a registry takes)")
    return ImageConfig.parse(json.loads(data))


class _Digesting:
    """A write-only stream that hashes and counts what passes through it."""

    def __init__(self, sink):
        self.sink, self.hash, self.size = sink, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.sink.write(data)

    def flush(self) -> None:
        self.sink.flush()

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


def pack_code_dir(code_dir: Path, command: list[str], architecture: str, layer_path: Path) -> tuple[bytes, bytes]:
    """A one-layer image holding ``code_dir`` under /var/task: the gzipped layer is streamed to ``layer_path``;
    returns (config, manifest) bytes."""
    with open(layer_path, "wb") as file:
        compressed = _Digesting(file)
        with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0) as zipped:
            raw = _Digesting(zipped)
            with tarfile.open(fileobj=raw, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for directory in ("var", TASK_ROOT):
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                for path in sorted(code_dir.rglob("*")):
                    if "__pycache__" in path.parts:
                        continue
                    tar.add(path, arcname=f"{TASK_ROOT}/{path.relative_to(code_dir).as_posix()}", recursive=False)
    config = json.dumps({
        "architecture": "arm64" if architecture == "arm64" else "amd64", "os": "linux",
        "config": {"Cmd": command, "WorkingDir": "/var/task", "Env": ["LAMBDA_TASK_ROOT=/var/task"]},
        "rootfs": {"type": "layers", "diff_ids": [raw.digest]},
        "history": [{"created_by": "localcloud host image (POST /_localcloud/host-images)"}],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": CONFIG_TYPES[0], "size": len(config), "digest": digest_of(config)},
        "layers": [{"mediaType": LAYER_TYPES[0], "size": compressed.size, "digest": compressed.digest}],
    }, indent=3).encode()
    return config, manifest


def extract_task_root(registry: Registry, repository: str, manifest: dict, destination: Path,
                      cap: int = MAX_IMAGE_BYTES) -> Path:
    """Unpack the image's /var/task into ``destination`` (once per digest) and return that folder.

    Layers apply in order with their whiteouts, through :class:`layers.Unpacker`: nothing outside
    ``destination`` is written or deleted, whatever links the layers plant. At most ``cap`` bytes
    (Lambda's 10 GB uncompressed image, and never all the free disk) and ``layers.MAX_ENTRIES`` entries.

    Each extraction unpacks into a folder of its own (``NAME.partial-ID``) and renames it into place whole, so
    two at once (a stand-in stopping while the next one starts) never unpack into each other's files: the
    first to finish wins and the other drops its copy. Unfinished ones are removed at start
    (:meth:`localcloud.aws.awslambda.functions.ImageStore.prune`).
    """
    task_root = destination / TASK_ROOT
    marker = destination / COMPLETE
    if marker.exists():
        return task_root
    partial = destination.with_name(f"{destination.name}{PARTIAL}{secrets.token_hex(4)}")
    partial.mkdir(parents=True)
    cap = min(cap, max(shutil.disk_usage(partial).free - DISK_RESERVE, 0))
    unpacker = layers.Unpacker(partial, select=lambda name: name == TASK_ROOT or name.startswith(TASK_ROOT + "/"),
                               cap=cap)
    (partial / TASK_ROOT).mkdir(parents=True)
    try:
        for layer in manifest.get("layers", []):
            response = registry.blob(repository, layer["digest"])
            try:
                mode = "r|gz" if layer.get("mediaType", "").endswith("gzip") else "r|"
                with tarfile.open(fileobj=response, mode=mode) as tar:
                    unpacker.apply(tar)
            except layers.UnsafeEntry as error:
                raise layers.UnsafeEntry(f"layer {layer['digest'][:19]} cannot be unpacked safely: {error}") from None
            except layers.TooLarge as error:
                raise layers.TooLarge(f"its /var/task is too large to unpack: {error}") from None
            finally:
                response.release_conn()
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    (partial / COMPLETE).touch()
    if destination.exists() and not marker.exists():
        shutil.rmtree(destination, ignore_errors=True)  # an unfinished folder of an older layout
    try:
        partial.rename(destination)
    except OSError:  # another extraction finished first: keep its copy
        shutil.rmtree(partial, ignore_errors=True)
        if not marker.exists():
            raise
    return task_root
