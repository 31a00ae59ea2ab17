"""One Cloud Run instance: the revision's image in a container, serving HTTP on ``PORT``.

Cloud Run's container contract: ``PORT`` (where to listen: the container port, 8080 unless the
revision says otherwise), ``K_SERVICE``, ``K_REVISION`` and ``K_CONFIGURATION`` are set; memory
and CPU limits apply; the instance is ready once its startup probe (by default a TCP connection to
the port) succeeds. Here the container has a network namespace of its own with nothing but its
loopback (``--network none``), so a server may bind ``0.0.0.0:$PORT`` as on Cloud Run and still
be reachable from nowhere but the stand-in, through a forwarder in that namespace on a unix socket
(:mod:`localcloud.bridge`; the forwarder's socket appearing is the TCP startup probe passing). It
runs with no capabilities and no new privileges; the root filesystem is read-only (writes go to a
tmpfs at /tmp, as Cloud Run's in-memory filesystem), the image's VOLUMEs are masked, and the user
is not root.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from lambda_rie import WaitTimeout, wait_for
from localcloud import engine
from localcloud.aws.ecr.unixhttp import HOST, UnixPool
from localcloud.bridge import Bridge, BridgeError

from .resources import RevisionSpec

USER = "65532:65532"  # "nonroot" in distroless images; any image's files are readable to it


class StartFailed(RuntimeError):
    """The container exited or never listened; the message is Cloud Run's."""


def never_listened(port: int) -> str:
    # Cloud Run's words for a revision whose container does not listen in time
    return (f"The user-provided container failed to start and listen on the port defined provided by the "
            f"PORT={port} environment variable within the allocated timeout. This can happen when the port is "
            "misconfigured or if the timeout is too short. The health check timeout can be extended.")


class Container:
    def __init__(self, spec: RevisionSpec, image: str, *, sockets: Path, home: Path, instance: str):
        """``sockets``: the private folder where the instance's forwarder binds its socket."""
        self.spec, self.image = spec, image
        self.port = spec.container_port
        self.home, self.instance = home, instance
        self.id = uuid.uuid4().hex
        self.name = f"localcloud-run-{spec.revision}-{self.id[:6]}"
        self.bridge = Bridge(sockets, self.id, self.port, home)
        # connections to the instance, over its forwarder's socket; a request target is sent as given
        self.http = UnixPool(HOST, socket_path=str(self.bridge.path), maxsize=max(1, min(spec.concurrency, 100)),
                             retries=False)
        self.started_s: float | None = None  # seconds from `docker run` to the first accepted connection

    def environment(self) -> dict[str, str]:
        return {**dict(self.spec.env), "PORT": str(self.port), "K_SERVICE": self.spec.service,
                "K_REVISION": self.spec.revision, "K_CONFIGURATION": self.spec.service}

    def run_args(self, volumes: list[str] = ()) -> list[str]:
        """``docker run`` for the instance; ``volumes``: the image's VOLUME paths, masked."""
        if self.spec.memory_bytes <= 0 or self.spec.cpus <= 0:  # docker's "no limit"; resources.py refuses these
            raise ValueError(f"refusing unlimited resources for {self.spec.revision}")
        args = ["run", "--detach", "--name", self.name, "--network", "none", *engine.CONFINED,
                *engine.masked_volumes(list(volumes)), "--read-only",
                "--tmpfs", "/tmp", "--user", USER, "--memory", str(self.spec.memory_bytes),
                "--cpus", f"{self.spec.cpus:g}", "--label", f"{engine.LABEL_HOME}={self.home}",
                "--label", f"{engine.LABEL_INSTANCE}={self.instance}",
                "--label", f"localcloud.run.revision={self.spec.revision}"]
        for key, value in self.environment().items():
            args += ["--env", f"{key}={value}"]
        if self.spec.command:
            args += ["--entrypoint", self.spec.command[0]]
        return [*args, self.image, *self.spec.command[1:], *self.spec.args]

    def start(self, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Run the container and wait until it accepts connections on ``PORT`` (the TCP startup probe)."""
        began = clock()
        config = engine.image_config(self.image) or {}
        engine.run(self.run_args(sorted((config.get("Config") or {}).get("Volumes") or {})), timeout=120, what="run")

        def probe() -> bool:
            if self.bridge.ready():  # raises BridgeError when the forwarder could not enter the namespace
                return True
            if not self.running():
                raise StartFailed(f"{never_listened(self.port)} The container exited: {self.last_log_line()}")
            return False

        try:
            pid = engine.pid(self.name)
            if not pid:
                raise StartFailed(f"{never_listened(self.port)} The container exited: {self.last_log_line()}")
            self.bridge.start(pid, self.name, self.image, [f"{engine.LABEL_HOME}={self.home}",
                                                           f"{engine.LABEL_INSTANCE}={self.instance}"])
            wait_for(probe, timeout - (clock() - began), interval=0.05, what="the startup probe", clock=clock)
        except WaitTimeout:
            self.stop()
            raise StartFailed(never_listened(self.port)) from None
        except BridgeError as error:
            self.stop()
            raise StartFailed(f"{never_listened(self.port)} {error}") from None
        self.started_s = clock() - began

    def running(self) -> bool:
        try:
            return engine.run(["inspect", "-f", "{{.State.Running}}", self.name], timeout=30).strip() == "true"
        except engine.EngineError:
            return False

    def last_log_line(self) -> str:
        """The container's last line of output (stdout or stderr), for the revision's failure message."""
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run([engine.cli(), "logs", "--tail", "3", self.name], capture_output=True,
                                  text=True, timeout=30)
            lines = (done.stdout + done.stderr).strip().splitlines()
            return lines[-1] if lines else "no output"
        return "no output"

    def stop(self) -> None:
        """Remove the container (with any anonymous volume) and its forwarder."""
        engine.remove([self.name])
        self.bridge.stop()
        self.http.close()
