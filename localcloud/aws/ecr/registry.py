"""The Docker registry behind the edge: a real distribution registry on a unix socket.

It runs the ``docker-registry`` binary (Debian's distribution 2.8) listening on
``LOCALCLOUD_HOME/run/registry.sock`` (``http.net: unix``) in a folder only this user may
open, so nothing reaches it but the edge (:mod:`.unixhttp`). When the binary is not installed
but a Docker engine is, the ``registry:2`` image runs instead, on a loopback port. Its storage
lives under LOCALCLOUD_HOME, so pushed images survive a restart. ``http.host`` is the edge's
URL, so the upload ``Location`` headers it returns lead clients back through the edge.

A registry may start with layers it already stores (``LOCALCLOUD_REGISTRY_SEED``: a folder in distribution's
blob layout), as a registry that has seen the public base images before: :func:`seed_blobs` puts them in its
blob store, and :meth:`Registry.link_seeded` links one into a repository when a client asks whether that
repository has it (docker's push does, for every layer it pushed anywhere before). The push then says
``Layer already exists`` instead of compressing and uploading the layer again. A class of submissions
(:mod:`checks.classroom`) pushes the same base layers into a fresh stand-in each; this is what keeps that cheap.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import urllib3

from lambda_rie import WaitTimeout, free_port, wait_for
from localcloud import children, engine, settings
from localcloud.aws.ecr.unixhttp import UnixHttp

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)
IMAGE = "registry:2"
TAG = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")  # ECR's and Docker's image tag
REPOSITORY_NAME = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")  # ECR's
HEX = re.compile(r"^[0-9a-f]{64}$")


class RegistryUnavailable(RuntimeError):
    """No registry can be started on this machine; the message says what to install."""


def socket_path(home: Path) -> Path:
    """Where the registry listens: ``home/run/registry.sock``, the folder private to this user (mode 0700);
    a private temporary folder when that path is too long for a unix socket (108 bytes)."""
    folder = home / "run"
    if len(str(folder / "registry.sock")) > 100:
        folder = Path(tempfile.mkdtemp(prefix="localcloud-"))
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder / "registry.sock"


def seed_blobs(seed: Path, storage: Path) -> set[str]:
    """Put the layers of ``seed`` (``sha256/ab/<hex>/data`` files) into the blob store under ``storage``; returns
    their digests.

    Each file is hard-linked where the file system allows, copied otherwise. Distribution never writes into a blob
    it has: an upload is renamed into place only when the blob is missing, and a delete unlinks. So the seed's files
    stay as they are whatever a client of this registry pushes or deletes, and stand-ins may share one seed.
    """
    blobs, digests = storage / "docker" / "registry" / "v2" / "blobs" / "sha256", set()
    for data in seed.glob("sha256/*/*/data"):
        hex_digest = data.parent.name
        if not HEX.match(hex_digest) or data.parent.parent.name != hex_digest[:2] or data.is_symlink():
            continue
        target = blobs / hex_digest[:2] / hex_digest / "data"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(data, target)
            except OSError:  # another file system
                shutil.copyfile(data, target)
        digests.add(f"sha256:{hex_digest}")
    return digests


class Registry:
    """One registry process (or container) and the few registry API calls the stand-in makes."""

    def __init__(self, home: Path, edge_url: str, instance: str):
        self.home = home
        self.edge_url = edge_url
        self.instance = instance
        self.storage = home / "registry"
        self.process: subprocess.Popen | None = None
        self.container: str | None = None
        self.seeded: set[str] = set()
        pool = {"maxsize": 16, "retries": False, "timeout": urllib3.Timeout(connect=5, read=600)}
        if settings.registry_binary():
            self.socket = socket_path(home)
            self.url, self.shown = "http://localhost", f"unix:{self.socket}"
            self.http = UnixHttp(str(self.socket), **pool)
        else:  # the registry:2 container: a loopback port (see the README's security model)
            self.socket, self.port = None, free_port()
            self.url = self.shown = f"http://127.0.0.1:{self.port}"
            self.http = urllib3.PoolManager(**pool)

    # -- lifecycle -------------------------------------------------------------------
    def collect_garbage(self) -> str:
        """Before start: delete blobs no manifest references any more (deleted images); returns the last log line.

        The registry deletes only manifests; its ``garbage-collect`` command, run while it is stopped, frees the
        layers. With the ``registry:2`` image instead of the binary, nothing is collected.
        """
        binary = settings.registry_binary()
        if not binary or not self.storage.is_dir():
            return "no registry binary: blobs are not collected"
        config = self._write_config(self.storage, str(self.socket), "unix")
        done = subprocess.run([binary, "garbage-collect", str(config)], capture_output=True, text=True, timeout=300)
        lines = [line for line in (done.stdout + done.stderr).splitlines() if "blob eligible for deletion" in line]
        return f"registry garbage collection: {len(lines)} unreferenced blob(s) deleted (exit {done.returncode})"

    def discard_unfinished_uploads(self) -> str:
        """Before start: remove blob uploads a killed push left unfinished (distribution's ``_uploads`` folders,
        purged by the registry itself only after a week); returns the log line. Nothing can still be writing them:
        the registry is not running, and only this stand-in (which holds LOCALCLOUD_HOME) starts it."""
        repositories = self.storage / "docker" / "registry" / "v2" / "repositories"
        unfinished = [upload for folder in repositories.rglob("_uploads") if folder.is_dir()
                      for upload in folder.iterdir()] if repositories.is_dir() else []
        for upload in unfinished:
            shutil.rmtree(upload, ignore_errors=True) if upload.is_dir() else upload.unlink(missing_ok=True)
        return f"removed {len(unfinished)} unfinished registry upload(s)"

    def start(self, timeout: float = 60) -> None:
        """Start the registry (with the seed's layers, if any) and wait until ``GET /v2/`` answers."""
        self.storage.mkdir(parents=True, exist_ok=True)
        seed = settings.registry_seed()
        self.seeded = seed_blobs(seed, self.storage) if seed else set()
        binary = settings.registry_binary()
        log_path = self.home / "logs" / "registry.log"
        if binary:
            self.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.socket.unlink(missing_ok=True)  # left by a registry that was killed
            config = self._write_config(self.storage, str(self.socket), "unix")
            with log_path.open("ab") as log:
                self.process = children.spawn([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, start_new_session=True)
            children.record(self.home, "registry", self.process.pid, binary)
        elif engine.available():
            self._start_container()
        else:
            raise RegistryUnavailable("no Docker registry: install it with `apt-get install docker-registry` "
                                      "(or set LOCALCLOUD_REGISTRY_BIN to a distribution `registry` binary)")

        def answering() -> bool:
            if self.healthy():
                return True
            if self.process and self.process.poll() is not None:
                raise RegistryUnavailable(f"the registry exited at start; see {log_path}")
            return False

        try:
            wait_for(answering, timeout, interval=0.05, what="the registry answering")
        except WaitTimeout:
            raise RegistryUnavailable(f"the registry did not answer within {timeout:.0f} s; see {log_path}") from None
        if self.socket:
            self.socket.chmod(0o600)

    def _write_config(self, root: Path | str, addr: str, net: str = "tcp") -> Path:
        config = self.home / "registry.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: warn, accesslog: {disabled: true}}\n"
            f"storage: {{filesystem: {{rootdirectory: {root}}}, delete: {{enabled: true}}}}\n"
            f"http: {{net: {net}, addr: '{addr}', host: '{self.edge_url}', secret: {secrets.token_hex(16)}}}\n")
        return config

    def _start_container(self) -> None:
        if engine.image_config(IMAGE) is None:
            try:
                engine.pull(IMAGE, timeout=300)
            except engine.EngineError:
                raise RegistryUnavailable("no Docker registry: install it with `apt-get install docker-registry` "
                                          f"(the {IMAGE} image could not be pulled either)") from None
        if engine.host_networking():
            config, network = self._write_config("/var/lib/registry", f"127.0.0.1:{self.port}"), ["--network", "host"]
        else:  # Docker Desktop: publish on loopback only
            config, network = self._write_config("/var/lib/registry", ":5000"), ["--publish", f"127.0.0.1:{self.port}:5000"]
        self.container = engine.run([
            "run", "--detach", "--name", f"localcloud-registry-{self.instance}",
            "--label", f"{engine.LABEL_HOME}={self.home}", "--label", f"{engine.LABEL_INSTANCE}={self.instance}",
            *network, "--volume", f"{self.storage}:/var/lib/registry",
            "--volume", f"{config}:/etc/docker/registry/config.yml:ro", IMAGE]).strip()

    def healthy(self) -> bool:
        try:
            return self.http.request("GET", f"{self.url}/v2/", timeout=2).status == 200
        except urllib3.exceptions.HTTPError:
            return False

    @property
    def running(self) -> bool:
        return self.process.poll() is None if self.process else self.container is not None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            children.forget(self.home, "registry")
        if self.socket and self.home not in self.socket.parents:
            shutil.rmtree(self.socket.parent, ignore_errors=True)  # the temporary folder of a long home's socket
        if self.container:
            engine.remove([self.container])
            self.container = None

    # -- registry API ------------------------------------------------------------------
    def manifest(self, repository: str, reference: str) -> tuple[str, bytes, str] | None:
        """(media type, body, digest) of a manifest, or None when the registry does not have it."""
        response = self.http.request("GET", f"{self.url}/v2/{repository}/manifests/{reference}",
                                     headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if response.status != 200:
            return None
        return (response.headers.get("Content-Type", "").split(";")[0], response.data,
                response.headers.get("Docker-Content-Digest", ""))

    def blob(self, repository: str, digest: str) -> urllib3.BaseHTTPResponse:
        """A streaming response with a blob's bytes (the caller reads and releases it)."""
        response = self.http.request("GET", f"{self.url}/v2/{repository}/blobs/{digest}", preload_content=False)
        if response.status != 200:
            response.release_conn()
            raise LookupError(f"blob {digest} of {repository} is missing from the registry")
        return response

    def push_blob(self, repository: str, digest: str, data, size: int | None = None) -> None:
        """Monolithic blob upload (POST, then PUT with the digest); ``data`` is bytes or a file of ``size`` bytes."""
        start = self.http.request("POST", f"{self.url}/v2/{repository}/blobs/uploads/")
        location = start.headers["Location"].replace(self.edge_url, self.url)
        if location.startswith("/"):
            location = self.url + location
        separator = "&" if "?" in location else "?"
        length = len(data) if isinstance(data, bytes) else size
        done = self.http.request("PUT", f"{location}{separator}digest={digest}", body=data,
                                 headers={"Content-Type": "application/octet-stream", "Content-Length": str(length)})
        if done.status != 201:
            raise RuntimeError(f"registry refused blob {digest}: {done.status} {done.data[:200]!r}")

    def put_manifest(self, repository: str, reference: str, media_type: str, body: bytes) -> None:
        done = self.http.request("PUT", f"{self.url}/v2/{repository}/manifests/{reference}", body=body,
                                 headers={"Content-Type": media_type})
        if done.status != 201:
            raise RuntimeError(f"registry refused manifest {reference}: {done.status} {done.data[:200]!r}")

    def delete_manifest(self, repository: str, digest: str) -> None:
        self.http.request("DELETE", f"{self.url}/v2/{repository}/manifests/{digest}")

    def delete_tag(self, repository: str, tag: str) -> None:
        """Untag without deleting the image (the registry API cannot; its storage layout can)."""
        if not TAG.match(tag):
            raise ValueError(f"{tag!r} is not an image tag")
        shutil.rmtree(self._repository_dir(repository) / "_manifests" / "tags" / tag, ignore_errors=True)

    def link_seeded(self, repository: str, digest: str) -> None:
        """Make a seeded layer part of ``repository``, as distribution's cross-repository mount does (the same link
        file); anything else is left to the registry."""
        if digest not in self.seeded or not REPOSITORY_NAME.match(repository):
            return
        link = self._repository_dir(repository) / "_layers" / "sha256" / digest.removeprefix("sha256:") / "link"
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.write_text(digest)

    def delete_repository(self, repository: str) -> None:
        shutil.rmtree(self._repository_dir(repository), ignore_errors=True)

    def _repository_dir(self, repository: str) -> Path:
        """The repository's folder in the registry's storage; names that could leave it are refused."""
        if not REPOSITORY_NAME.match(repository):
            raise ValueError(f"{repository!r} is not a repository name")
        return self.storage / "docker" / "registry" / "v2" / "repositories" / repository
