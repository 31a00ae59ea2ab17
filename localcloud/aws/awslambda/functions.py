"""What the runtime needs to know about a Lambda function, and getting its image ready to run.

A :class:`FunctionSpec` is a snapshot of one function version as moto stores it. Its
``generation`` changes whenever code or configuration changes, which is how warm
environments learn they must retire (AWS starts new environments after an update).

:class:`ImageStore` turns an image into a :class:`LaunchPlan`: in docker mode the
image pulled into the engine; in host mode (or for host images, which the
side table records) its /var/task extracted under LOCALCLOUD_HOME/images.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from localcloud import engine
from localcloud.aws.awslambda.params import MEMORY_MB, TIMEOUT_S, within
from localcloud.aws.ecr import images, layers
from localcloud.aws.sidetable import Code

if TYPE_CHECKING:
    from localcloud.cloud import Cloud

LATEST = "$LATEST"
IMAGE_URI = re.compile(r"^(?P<host>[^/]+)/(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,127}))?"
                       r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")
AWS_REGISTRY = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$")
LOOPBACK_HOST = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\]):\d+$")


class ImageError(RuntimeError):
    """The function's image cannot run here; the message says why."""


@dataclass(frozen=True)
class ImageRef:
    host: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        return self.digest or self.tag or "latest"


def parse_image_uri(uri: str, local_hosts: tuple[str, ...]) -> ImageRef | None:
    """Split an ImageUri that names this stand-in's registry (or an ECR host); None otherwise."""
    match = IMAGE_URI.match(uri or "")
    if not match or not (match["host"] in local_hosts or AWS_REGISTRY.match(match["host"])):
        return None
    return ImageRef(match["host"], match["repository"], match["tag"], match["digest"])


def repoint(uri: str, edge_host: str) -> str:
    """An ImageUri that named a stand-in's registry on another port, pointed at this one (after a restart)."""
    match = IMAGE_URI.match(uri or "")
    if match and LOOPBACK_HOST.match(match["host"]) and match["host"] != edge_host:
        return edge_host + uri[len(match["host"]):]
    return uri


@dataclass(frozen=True)
class FunctionSpec:
    """One function version, as the runtime runs it."""

    account: str
    region: str
    name: str
    arn: str
    version: str
    image_uri: str
    repository: str
    digest: str
    memory: int
    timeout: int
    environment: tuple[tuple[str, str], ...]
    architecture: str
    command: tuple[str, ...]
    entrypoint: tuple[str, ...]
    workdir: str | None
    reserved: int | None
    revision: int = 0  # counts UpdateFunctionCode / UpdateFunctionConfiguration calls


    @property
    def key(self) -> tuple[str, str, str]:
        return self.account, self.region, self.name

    @property
    def generation(self) -> tuple:
        """Everything that, when changed, makes AWS start fresh environments."""
        return (self.version, self.revision, self.digest, self.memory, self.timeout, self.environment,
                self.architecture, self.command, self.entrypoint, self.workdir)

    @classmethod
    def from_moto(cls, fn, repository: str, code: Code, revision: int) -> FunctionSpec:
        image_config = fn.image_config
        reserved = fn.reserved_concurrency
        return cls(
            account=fn.account_id, region=fn.region, name=fn.function_name, arn=fn.function_arn,
            version=str(fn.version), image_uri=code.image_uri, repository=repository,
            digest=code.digest, memory=within(int(fn.memory_size), MEMORY_MB), timeout=within(int(fn.timeout), TIMEOUT_S),
            environment=tuple(sorted((fn.environment_vars or {}).items())), architecture=fn.architectures[0],
            command=tuple(image_config.cmd or ()), entrypoint=tuple(image_config.entry_point or ()),
            workdir=image_config.working_directory, reserved=None if reserved is None else int(reserved),
            revision=revision)


@dataclass(frozen=True)
class LaunchPlan:
    """How to start an environment for one image: in the engine, or from an extracted /var/task."""

    digest: str
    config: images.ImageConfig
    docker_reference: str | None = None
    task_root: Path | None = None

    def bootstrap(self, spec: FunctionSpec) -> list[str]:
        """ENTRYPOINT + CMD, with the function's ImageConfig overrides (as Lambda applies them)."""
        entrypoint = list(spec.entrypoint) or self.config.entrypoint
        command = list(spec.command) or self.config.cmd
        return [*entrypoint, *command]

    def handler(self, spec: FunctionSpec) -> str:
        """The handler a Python base image's entrypoint would pass to awslambdaric."""
        command = list(spec.command) or self.config.cmd
        if not command:
            raise ImageError("the image has no CMD naming the handler (e.g. CMD [\"app.handler\"])")
        return command[-1]


class ImageStore:
    """Prepares images once per digest (under LOCALCLOUD_HOME/images); safe to call from many threads."""

    def __init__(self, cloud: Cloud):
        self.registry = cloud.registry
        self.cache = cloud.home / "images"
        self.lock, self.table = cloud.lock, cloud.table
        self.edge_host = cloud.edge_host
        self.docker = cloud.mode == "docker"
        self._plans: dict[str, LaunchPlan] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def plan(self, spec: FunctionSpec) -> LaunchPlan:
        """Get the image ready (pull or extract) and return how to run it."""
        plan = self._plans.get(spec.digest)
        if plan:
            return plan
        with self._guard:
            lock = self._locks.setdefault(spec.digest, threading.Lock())
        with lock:
            if spec.digest not in self._plans:
                self._plans[spec.digest] = self._prepare(spec)
            return self._plans[spec.digest]

    def prune(self, keep: set[str]) -> list[str]:
        """At start: remove unfinished extractions and extracted images no function runs; returns their names."""
        removed = []
        for folder in sorted(self.cache.iterdir()) if self.cache.is_dir() else []:
            unfinished = ".partial" in folder.name  # NAME.partial-ID (and NAME.partial, of an older layout)
            digest = folder.name.split(".partial")[0].replace("-", ":", 1)
            if unfinished or digest not in keep:
                self._plans.pop(digest, None)
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
        return removed

    def _prepare(self, spec: FunctionSpec) -> LaunchPlan:
        found = self.registry.manifest(spec.repository, spec.digest)
        if not found:
            raise ImageError(f"image {spec.image_uri} ({spec.digest}) is no longer in the registry")
        _, body, _ = found
        manifest = json.loads(body)
        try:
            config = images.read_config(self.registry, spec.repository, manifest)
        except (layers.TooLarge, ValueError) as error:
            raise ImageError(f"image {spec.image_uri} cannot run: {error}") from None
        with self.lock:
            host_image = spec.digest in self.table.host_images  # our own record, never a label inside the image
        if self.docker and not host_image:
            reference = f"{self.edge_host}/{spec.repository}@{spec.digest}"
            if engine.image_config(reference) is None:
                engine.pull(reference)
            return LaunchPlan(spec.digest, config, docker_reference=reference)
        entrypoint = config.entrypoint
        if entrypoint and entrypoint != ["/lambda-entrypoint.sh"]:
            raise ImageError(f"host mode runs Python handlers only; image {spec.image_uri} has its own "
                             f"ENTRYPOINT {entrypoint} and needs a Docker engine")
        target = self.cache / spec.digest.replace(":", "-")
        try:
            task_root = images.extract_task_root(self.registry, spec.repository, manifest, target)
        except (layers.UnsafeEntry, layers.TooLarge, tarfile.TarError, EOFError) as error:
            raise ImageError(f"image {spec.image_uri} cannot run in host mode: {error}") from None
        if not any(task_root.iterdir()):
            raise ImageError(f"image {spec.image_uri} has no files in /var/task to run in host mode")
        return LaunchPlan(spec.digest, config, task_root=task_root)
