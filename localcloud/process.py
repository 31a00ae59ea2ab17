"""Start and stop stand-in instances from Python; the CLI and the tests both use this.

    from localcloud import process

    with process.running() as cloud:                # a free port and a temporary home
        ecr = cloud.client("ecr")                   # boto3, pointed at cloud.endpoint
        ...                                         # stopped (and its containers removed) on exit

    with process.running(mode="host", idle_timeout=5) as cloud:   # any setting, as LOCALCLOUD_* variables
        ...

    cloud = process.start(port=4566)                # detached, what `python -m localcloud up` does
    process.stop()                                  # what `down` does (default home)

An instance is identified by its home folder: ``home/instance.json`` records the pid
and port of the process serving it, and its containers carry ``localcloud.home=HOME``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from lambda_rie import WaitTimeout, free_port, wait_for
from localcloud import children, engine, settings


class StartError(RuntimeError):
    """The stand-in could not start; the message is one line saying why."""


@dataclass
class Instance:
    """A running stand-in."""

    port: int
    home: Path
    pid: int
    mode: str = ""

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str, region: str = "us-east-1", **kwargs):
        """A boto3 client for ``service`` on this instance, with the dummy credentials."""
        import boto3
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region, aws_access_key_id="test",
                            aws_secret_access_key="test", **kwargs)

    def status(self) -> dict:
        return requests.get(f"{self.endpoint}/_localcloud/status", timeout=10).json()

    def push_folder(self, folder: Path, repository: str, tag: str, command: str = "app.handler",
                    architecture: str = "x86_64") -> requests.Response:
        """``POST /_localcloud/host-images``: the folder, streamed as a tar, becomes an image (host mode)."""
        with tempfile.TemporaryFile() as spool:
            with tarfile.open(fileobj=spool, mode="w") as tar:
                for path in sorted(Path(folder).rglob("*")):
                    if "__pycache__" not in path.parts:
                        tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
            spool.seek(0)
            return requests.post(f"{self.endpoint}/_localcloud/host-images", data=spool, timeout=120,
                                 headers={"Content-Type": "application/x-tar"},
                                 params={"repositoryName": repository, "imageTag": tag, "command": command,
                                         "architecture": architecture})

    def save_layers(self, repository: str, reference: str, folder: Path) -> list[str]:
        """Write the layers of an image this instance's registry has into ``folder``, in the layout
        ``LOCALCLOUD_REGISTRY_SEED`` reads (``sha256/ab/<hex>/data``); returns their digests.

        Each layer is read through the edge, as ``docker pull`` reads it, and checked against its digest.
        """
        manifest = requests.get(f"{self.endpoint}/v2/{repository}/manifests/{reference}", timeout=30, headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
        manifest.raise_for_status()
        digests = [layer["digest"] for layer in manifest.json().get("layers", [])]
        for digest in digests:
            algorithm, hex_digest = digest.split(":", 1)
            if algorithm != "sha256":
                raise ValueError(f"{digest}: only sha256 layers can be saved")
            target = Path(folder) / "sha256" / hex_digest[:2] / hex_digest / "data"
            target.parent.mkdir(parents=True, exist_ok=True)
            seen = hashlib.sha256()
            with requests.get(f"{self.endpoint}/v2/{repository}/blobs/{digest}", stream=True, timeout=60) as blob, \
                    target.open("wb") as out:
                blob.raise_for_status()
                for chunk in blob.iter_content(1 << 20):
                    seen.update(chunk)
                    out.write(chunk)
            if seen.hexdigest() != hex_digest:
                target.unlink()
                raise ValueError(f"layer {digest} of {repository}:{reference} arrived with another digest")
        return digests

    def exports(self, region: str | None = None) -> dict[str, str]:
        """The environment a shell needs to use this instance with the AWS CLI or boto3."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": region or settings.default_region()}


def health(port: int, timeout: float = 2) -> dict | None:
    """The health document of a stand-in on ``port``; None when nothing (or something else) answers."""
    try:
        response = requests.get(f"http://127.0.0.1:{port}/_localcloud/health", timeout=timeout)
        document = response.json()
    except (requests.RequestException, ValueError):
        return None
    return document if isinstance(document, dict) and document.get("service") == "localcloud" else None


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def current(home: Path | None = None) -> Instance | None:
    """The instance serving ``home``, if its process is alive."""
    home = Path(home or settings.home())
    try:
        info = json.loads((home / "instance.json").read_text())
        os.kill(info["pid"], 0)
        command = Path(f"/proc/{info['pid']}/cmdline")
        if command.exists() and b"localcloud" not in command.read_bytes():
            return None  # the pid was reused by another program: never signal it
    except (OSError, ValueError, KeyError):
        return None
    return Instance(info["port"], home, info["pid"], info.get("mode", ""))


def start(port: int | None = None, home: Path | None = None, *, environ: dict[str, str] | None = None,
          timeout: float | None = None, progress: Callable[[], None] | None = None) -> Instance:
    """Start a detached stand-in (or return the one already serving ``home``) and wait until healthy."""
    port = port or settings.port()
    home = Path(home or settings.home()).resolve()
    running = current(home)
    if running and health(running.port):
        return running
    if port_in_use(port):
        if health(port):
            raise StartError(f"port {port} already serves another stand-in (not LOCALCLOUD_HOME={home}); "
                             "stop it with `python -m localcloud down` or choose another LOCALCLOUD_PORT")
        raise StartError(f"port {port} on 127.0.0.1 is in use by another program; stop it or set "
                         "LOCALCLOUD_PORT to a free port")
    (home / "logs").mkdir(parents=True, exist_ok=True)
    log_path = home / "logs" / "edge.log"
    env = {**os.environ, **(environ or {}), "LOCALCLOUD_PORT": str(port), "LOCALCLOUD_HOME": str(home)}
    with log_path.open("ab") as log:
        log.write(f"\n--- start {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n".encode())
        log.flush()
        child = subprocess.Popen([sys.executable, "-m", "localcloud", "serve"], stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=env, cwd=settings.REPO_ROOT, start_new_session=True)

    def healthy() -> Instance | None:
        if child.poll() is not None:
            raise StartError(_last_error(log_path) or f"the stand-in exited (status {child.returncode}); see {log_path}")
        instance = current(home)
        if instance and instance.pid == child.pid and health(port, timeout=1):
            return instance
        if progress:
            progress()
        return None

    try:
        return wait_for(healthy, timeout or settings.startup_timeout(), interval=0.2, what="the stand-in healthy")
    except WaitTimeout:
        child.terminate()
        raise StartError(f"the stand-in did not become healthy within {timeout or settings.startup_timeout():.0f} s; "
                         f"see {log_path}") from None


def _last_error(log_path: Path) -> str | None:
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.startswith("localcloud: error:")]
    return lines[-1].removeprefix("localcloud: error: ") if lines else None


def stop(home: Path | None = None, timeout: float = 30) -> bool:
    """Stop the instance serving ``home`` and remove its containers; False when none was running."""
    home = Path(home or settings.home()).resolve()
    instance = current(home)
    if instance:
        os.kill(instance.pid, signal.SIGTERM)
        with contextlib.suppress(WaitTimeout):
            wait_for(lambda: not _alive(instance.pid), timeout, what="the stand-in stopping")
        if _alive(instance.pid):
            os.kill(instance.pid, signal.SIGKILL)
        (home / "instance.json").unlink(missing_ok=True)
    children.kill_recorded(home)
    if shutil.which(engine.cli()) and engine.available(timeout=5):
        engine.remove(engine.containers(engine.LABEL_HOME, str(home)))
    return instance is not None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # reap it when it is our child, so it does not linger as a zombie
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


@contextlib.contextmanager
def running(port: int | None = None, home: Path | None = None, **options) -> Iterator[Instance]:
    """A stand-in for the ``with`` block: free port and temporary home unless given.

    ``options`` become LOCALCLOUD_* variables: ``mode="host"``, ``idle_timeout=5``, ``max_concurrency=4``...
    """
    temporary = home is None
    home = Path(home or tempfile.mkdtemp(prefix="localcloud-"))
    environ = {f"LOCALCLOUD_{key.upper()}": str(value) for key, value in options.items()}
    instance = start(port or free_port(), home, environ=environ)
    try:
        yield instance
    finally:
        stop(home)
        if temporary:
            shutil.rmtree(home, ignore_errors=True)
