"""One Cloud Run instance: the revision's image in a container, serving HTTP on ``PORT``.

Cloud Run's container contract: ``PORT`` (where to listen), ``K_SERVICE``, ``K_REVISION`` and
``K_CONFIGURATION`` are set; memory and CPU limits apply; the instance is ready once its
startup probe (by default a TCP connection to the port) succeeds. Here the container runs
with ``--network host``, so ``PORT`` is a free loopback port rather than 8080, and ``HOST``
is set to 127.0.0.1 for servers that honour it; the root filesystem is read-only (writes go
to a tmpfs at /tmp, as Cloud Run's in-memory filesystem) and the user is not root.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from lambda_rie import WaitTimeout, listening, wait_for
from localcloud import engine
from localcloud.aws.awslambda.environment import Ports

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
    def __init__(self, spec: RevisionSpec, image: str, ports: Ports, *, home: Path, instance: str):
        self.spec, self.image, self.ports = spec, image, ports
        self.port = ports.take()
        self.home, self.instance = home, instance
        self.name = f"localcloud-run-{spec.revision}-{uuid.uuid4().hex[:6]}"
        self.started_s: float | None = None  # seconds from `docker run` to the first accepted connection

    def environment(self) -> dict[str, str]:
        return {**dict(self.spec.env), "PORT": str(self.port), "K_SERVICE": self.spec.service,
                "K_REVISION": self.spec.revision, "K_CONFIGURATION": self.spec.service, "HOST": "127.0.0.1"}

    def run_args(self) -> list[str]:
        if self.spec.memory_bytes <= 0 or self.spec.cpus <= 0:  # docker's "no limit"; resources.py refuses these
            raise ValueError(f"refusing unlimited resources for {self.spec.revision}")
        args = ["run", "--detach", "--name", self.name, "--network", "host", "--read-only",
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
        engine.run(self.run_args(), timeout=120, what="run")

        def probe() -> bool:
            if listening(self.port, timeout=0.5):
                return True
            if not self.running():
                raise StartFailed(f"{never_listened(self.port)} The container exited: {self.last_log_line()}")
            return False

        try:
            wait_for(probe, timeout - (clock() - began), what="the startup probe", clock=clock)
        except WaitTimeout:
            self.stop()
            raise StartFailed(never_listened(self.port)) from None
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
        engine.remove([self.name])
        self.ports.give_back(self.port)
