"""Reaching a workload that has no network: a forwarder in its network namespace, on a unix socket.

A workload (a Lambda environment, a Cloud Run instance) runs in a network namespace of its own
with nothing but its own loopback (``docker run --network none``; ``unshare --net`` in host mode),
so it reaches neither the edge, nor another workload, nor the host's network, and nothing of it
listens on the host's loopback. The stand-in reaches the port the workload serves on (the RIE's
invoke port, Cloud Run's ``PORT``) through :mod:`localcloud.relay` (``into``), started with
``nsenter -t PID -n`` in the workload's namespace: it binds a path-based unix socket (a file,
not a network address) in a folder only the stand-in's user may open (0700), and forwards each
connection to ``127.0.0.1:PORT`` inside. One :class:`Bridge` per workload; :meth:`Bridge.stop`
ends its forwarder and removes the socket.

Entering another process's network namespace takes root. A stand-in that is not root (a Linux
user in the ``docker`` group) bridges a container from beside it instead: a helper container of
the workload's own image joins its namespace (``--network container:ID``, no docker network) and
runs the forwarder with the image's ``python3`` as the stand-in's user, with no capabilities, a
read-only file system and only this bridge's own socket folder mounted.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from localcloud import children, engine

RELAY = Path(__file__).resolve().with_name("relay.py")
NSENTER = shutil.which("nsenter") or "nsenter"
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes; leave room for the forwarder's staging suffix
SOCKET_NAME = "http.sock"
RELAY_IN_HELPER = "/opt/localcloud/relay.py"


class BridgeError(RuntimeError):
    """The forwarder could not start or stopped; the message says why."""


def socket_folder(home: Path, name: str) -> Path:
    """A folder for workloads' sockets, ``home/run/NAME``, mode 0700; a private temporary folder when that
    path is too long for unix sockets (each socket is ``ID/http.sock``, ID 32 characters)."""
    folder = home / "run" / name
    if len(str(folder)) + 56 > SOCKET_PATH_MAX:
        folder = Path(tempfile.mkdtemp(prefix=f"localcloud-{name}-"))
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def discard_folder(folder: Path, home: Path) -> None:
    """At shutdown: remove a temporary socket folder (one under ``home`` stays, with the rest of ``run``)."""
    if home not in folder.parents:
        shutil.rmtree(folder, ignore_errors=True)


class UnixHTTPConnection(http.client.HTTPConnection):
    """``http.client`` over a unix socket (the Host header says ``localhost``)."""

    def __init__(self, path: str, timeout: float | None = None):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Bridge:
    """The forwarder that makes ``127.0.0.1:port`` of one workload's namespace reachable at its ``path``."""

    def __init__(self, folder: Path, name: str, port: int, home: Path):
        """``folder``: where this bridge's own folder (``NAME``, mode 0700) and its socket go."""
        self.folder = folder / name
        self.path = self.folder / SOCKET_NAME
        self.port, self.name, self.home = port, name, home
        self.process: subprocess.Popen | None = None
        self.helper: str | None = None  # the helper container, when the forwarder runs beside a container

    def start(self, pid: int, container: str | None = None, image: str | None = None, labels: list[str] = (),
              enter: bool | None = None) -> None:
        """Start the forwarder in the network namespace of process ``pid`` (it binds once the port listens).

        ``pid`` is entered when ``enter`` (default: when this process is root); otherwise the forwarder runs in a
        helper container of ``image`` beside ``container``, labelled ``labels`` (``KEY=VALUE``).

        Raises:
            BridgeError: ``pid`` is gone, or shares the stand-in's own network namespace (the forwarder would
                then reach whatever listens on the host's port, not the workload), or it cannot be entered.
        """
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if enter is None:
            enter = os.geteuid() == 0
        if not enter:
            if not (container and image):
                raise BridgeError("entering a workload's network namespace needs root")
            return self._start_beside(container, image, labels)
        try:
            shared = os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino
        except OSError:
            raise BridgeError(f"the workload's process {pid} is gone") from None
        if shared:
            raise BridgeError(f"the workload's process {pid} has no network namespace of its own")
        command = [NSENTER, "--target", str(pid), "--net", "--", sys.executable, "-I", "-S", str(RELAY), "into",
                   str(self.path), str(self.port)]
        try:
            self.process = children.spawn(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, start_new_session=True)
        except OSError as error:
            raise BridgeError(f"cannot start the forwarder: {error}") from None
        children.record(self.home, f"bridge-{self.name}", self.process.pid, "relay.py")

    def _start_beside(self, container: str, image: str, labels: list[str]) -> None:
        self.helper = f"{container}-bridge"
        command = [engine.cli(), "run", "--rm", "--interactive", "--name", self.helper,
                   "--network", f"container:{container}", "--user", f"{os.getuid()}:{os.getgid()}", "--read-only",
                   *engine.CONFINED, *[option for label in labels for option in ("--label", label)],
                   "--volume", f"{self.folder}:{self.folder}", "--volume", f"{RELAY}:{RELAY_IN_HELPER}:ro",
                   "--entrypoint", "python3", image, "-I", "-S", RELAY_IN_HELPER, "into", str(self.path), str(self.port)]
        try:
            self.process = children.spawn(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, start_new_session=True)
        except OSError as error:
            raise BridgeError(f"cannot start the forwarder: {error}") from None

    def ready(self) -> bool:
        """Whether the workload listens (the forwarder binds its socket only then).

        Raises:
            BridgeError: the forwarder exited (nsenter refused, or the namespace is gone).
        """
        if self.path.exists():
            return True
        if self.process is None or self.process.poll() is not None:
            error = self.process.stderr.read().decode("utf-8", "replace").strip() if self.process else ""
            raise BridgeError(f"the forwarder into the workload's network stopped: {error[-300:] or 'no output'}")
        return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def connection(self, timeout: float | None = None) -> UnixHTTPConnection:
        return UnixHTTPConnection(str(self.path), timeout=timeout)

    def stop(self) -> None:
        """End the forwarder and remove its socket."""
        if self.process is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # the forwarder ends with its standard input
            with contextlib.suppress(OSError):
                self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
            self.process.stderr.close()
        if self.helper:
            engine.remove([self.helper])
        shutil.rmtree(self.folder, ignore_errors=True)
        children.forget(self.home, f"bridge-{self.name}")
