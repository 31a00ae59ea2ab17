"""Running a handler under the RIE: its command lines, one invoke, and :func:`running`.

Docker mode is SAM CLI's recipe: the function's image runs with the RIE as its entrypoint, told to
listen on loopback ports of our choosing on the host's network (``--network host``), and the bootstrap
(the image's own ENTRYPOINT and CMD, or the base image's ``/lambda-entrypoint.sh HANDLER``) follows as
the RIE's command. Where containers do not share the host's loopback (Docker Desktop), the RIE listens
on :8080 inside the container instead, published on a loopback port. An *isolated* container has no
network but its own loopback (``--network none``): the RIE listens there, and only a forwarder in the
container's network namespace reaches it (the local cloud's way, :mod:`localcloud.bridge`). Host mode
runs the RIE binary as a process of this machine, with this Python's awslambdaric over a folder of code.

Either way nothing listens beyond 127.0.0.1, and the RIE serves one invocation at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lambda_rie import ports
from lambda_rie.fetch import ensure_rie
from lambda_rie.waiting import WaitTimeout, wait_for

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
RIE_IN_IMAGE = "/usr/local/bin/aws-lambda-rie"  # where Lambda's base images keep the RIE
ENTRYPOINT = "/lambda-entrypoint.sh"  # the base images' entrypoint: awslambdaric under the RIE's runtime API
PUBLISHED = ("0.0.0.0:8080", "127.0.0.1:9001")  # the RIE's own defaults, inside a container that publishes :8080
INSIDE = (8080, 9001)  # the RIE's invoke and runtime-API ports on an isolated container's own loopback
MERGE_OUTPUT = 'exec 2>&1; exec "$@"'  # one stream for stdout and stderr keeps the RIE's lines in order
# Loopback needs no proxy, whatever the environment's *_proxy variables say.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorError(RuntimeError):
    """The emulator did not start, stopped, or did not listen in time; the message says which."""


def host_network_default() -> bool:
    """Linux engines share the host's loopback with ``--network host``; Docker Desktop does not."""
    return platform.system() == "Linux"


def addresses(port: int, runtime_port: int) -> list[str]:
    """The RIE's flags for its two listening addresses: invokes on ``port``, the runtime API on ``runtime_port``."""
    return ["--runtime-interface-emulator-address", f"127.0.0.1:{port}", "--runtime-api-address", f"127.0.0.1:{runtime_port}"]


def host_command(rie: Path | str, handler: str, port: int, runtime_port: int, python: str = sys.executable) -> list[str]:
    """Host mode: the RIE binary running ``python -m awslambdaric HANDLER`` as its bootstrap.

    Run it with the code folder as working directory and ``LAMBDA_TASK_ROOT``.
    """
    return [str(rie), *addresses(port, runtime_port), python, "-m", "awslambdaric", handler]


def docker_command(image: str, bootstrap: Sequence[str], port: int, runtime_port: int, *, options: Sequence[str] = (),
                   docker: str = "docker", rie: str = RIE_IN_IMAGE, host_network: bool | None = None,
                   isolated: bool = False, merge_output: bool = False) -> list[str]:
    """Docker mode: ``docker run OPTIONS NETWORK --entrypoint RIE IMAGE ADDRESSES BOOTSTRAP``.

    Args:
        image: the function's image.
        bootstrap: what the RIE starts: the image's ENTRYPOINT and CMD, as Lambda runs them.
        port, runtime_port: the loopback ports of the RIE's invoke API and runtime API.
        options: every other ``docker run`` option (``--detach``, ``--rm``, hardening, ``--env``, mounts).
        docker: the Docker CLI.
        rie: the RIE's path inside the container (mount one read-only for images that lack it).
        host_network: share the host's network (default: on Linux); otherwise publish :8080 on 127.0.0.1:``port``.
        isolated: no network at all but the container's own loopback (``--network none``), where the RIE listens
            on ``port`` and ``runtime_port`` (:data:`INSIDE`, say); nothing is published, ``host_network`` is ignored.
        merge_output: start the RIE through ``/bin/sh`` with stderr sent to stdout, so one pipe keeps its lines in order.
    """
    if isolated:
        network, listen = ["--network", "none"], addresses(port, runtime_port)
    elif host_network if host_network is not None else host_network_default():
        network, listen = ["--network", "host"], addresses(port, runtime_port)
    else:
        network = ["--publish", f"127.0.0.1:{port}:8080"]
        listen = ["--runtime-interface-emulator-address", PUBLISHED[0], "--runtime-api-address", PUBLISHED[1]]
    if merge_output:
        entrypoint, rie_command = ["--entrypoint", "/bin/sh"], ["-c", MERGE_OUTPUT, "sh", rie]
    else:
        entrypoint, rie_command = ["--entrypoint", rie], []
    return [docker, "run", *options, *network, *entrypoint, image, *rie_command, *listen, *bootstrap]


def invoke(port: int, event: object, timeout: float = 60, limit: int | None = None) -> tuple[int, bytes]:
    """POST one event to the RIE on 127.0.0.1:``port``, as Lambda's Invoke API does; returns (HTTP status, body).

    An error status is returned, not raised: the RIE answers 502 when the runtime exits.

    Args:
        limit: read at most this many bytes of the body (default: all of it).
    """
    request = urllib.request.Request(f"http://127.0.0.1:{port}{INVOKE_PATH}", data=json.dumps(event).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            return answer.status, answer.read(limit)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read(limit)


def payload(body: bytes) -> object:
    """An invoke's body as JSON, or as text when it is not JSON (the RIE's timeout message is plain text)."""
    text = body.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass
class Emulator:
    """A handler under the RIE, answering on 127.0.0.1:``port``: in a container or (host mode) a process."""

    port: int
    container: str | None = None
    process: subprocess.Popen | None = None
    log_file: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def invoke(self, event: object, timeout: float = 60, limit: int | None = None) -> tuple[int, bytes]:
        """One event, as :func:`invoke`."""
        return invoke(self.port, event, timeout, limit)

    def logs(self) -> str:
        """Everything the emulator and the handler printed so far."""
        if self.container:  # the RIE logs to stderr, the handler to stdout: keep both
            done = subprocess.run(["docker", "logs", self.container], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=30)
            return done.stdout
        return self.log_file.read_text() if self.log_file and self.log_file.exists() else ""

    def listening(self) -> bool:
        """Whether the RIE accepts connections yet.

        Raises:
            EmulatorError: its process exited (it never will).
        """
        if ports.listening(self.port):
            return True
        if self.process and self.process.poll() is not None:
            raise EmulatorError(f"the emulator exited: {self.logs()[-300:]}")
        return False

    def wait_until_listening(self, timeout: float = 30) -> None:
        try:
            wait_for(self.listening, timeout, what="the emulator listening")
        except WaitTimeout:
            raise EmulatorError(f"the emulator did not listen on 127.0.0.1:{self.port} within {timeout:.0f} s") from None

    def stop(self) -> None:
        """Remove the container, or end the process."""
        if self.container:
            subprocess.run(["docker", "rm", "--force", self.container], capture_output=True, timeout=60)
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)


@contextlib.contextmanager
def running(target: str | Path, *, handler: str = "app.handler", bootstrap: Sequence[str] | None = None,
            environment: Mapping[str, str] | None = None, options: Sequence[str] = (), rie: Path | None = None,
            log_file: Path | None = None, host_network: bool | None = None,
            start_timeout: float = 30) -> Iterator[Emulator]:
    """Run an image (docker mode) or a code folder (host mode) under the RIE on free loopback ports, for a ``with`` block.

    Args:
        target: an image tag or id (a ``str``); or a folder of code (a ``Path``), run with this machine's Python.
        handler: the handler to serve (``module.function``).
        bootstrap: docker mode: what the RIE starts (default: ``/lambda-entrypoint.sh HANDLER``); the image's own
            ENTRYPOINT and CMD run it as Lambda does.
        environment: the function's variables (the RIE enforces ``AWS_LAMBDA_FUNCTION_TIMEOUT``). In host mode they
            are the process's whole environment, with ``LAMBDA_TASK_ROOT`` and a minimal ``PATH``, as on Lambda.
        options: docker mode: more ``docker run`` options (``--platform``, hardening, a ``--name``).
        rie: host mode: the RIE binary (default: :func:`lambda_rie.fetch.ensure_rie` for this machine).
        log_file: host mode: where the emulator and the handler write (default: nowhere).
        host_network: docker mode: as :func:`docker_command`.
        start_timeout: seconds the emulator has to listen.

    Yields:
        The :class:`Emulator`, listening; removed or ended when the block ends.

    Raises:
        EmulatorError: the container or the process did not start, or did not listen in time.
    """
    port, runtime_port = ports.free_port(), ports.free_port()
    environment = dict(environment or {})
    emulator = Emulator(port)
    try:
        if isinstance(target, Path):
            emulator.log_file = log_file
            emulator.process = _start_process(target, handler, environment, port, runtime_port, rie, log_file)
        else:
            variables = [arg for key, value in environment.items() for arg in ("--env", f"{key}={value}")]
            command = docker_command(target, (ENTRYPOINT, handler) if bootstrap is None else bootstrap, port,
                                     runtime_port, options=["--detach", "--rm", *options, *variables],
                                     host_network=host_network)
            emulator.container = _start_container(command, target)
        emulator.wait_until_listening(start_timeout)
        yield emulator
    finally:
        emulator.stop()


def _start_container(command: list[str], image: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise EmulatorError("the docker command is not installed") from None
    except subprocess.TimeoutExpired:
        raise EmulatorError(f"docker run {image} did not finish within 120 s") from None
    if done.returncode != 0:
        raise EmulatorError(f"docker run {image} failed: {_last_line(done.stderr or done.stdout)}")
    return done.stdout.strip()


def _start_process(folder: Path, handler: str, environment: dict[str, str], port: int, runtime_port: int,
                   rie: Path | None, log_file: Path | None) -> subprocess.Popen:
    command = host_command(rie or ensure_rie(), handler, port, runtime_port)
    env = {**environment, "LAMBDA_TASK_ROOT": str(folder), "PATH": os.defpath}  # Lambda's environment is small
    if log_file is None:
        return subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
    with log_file.open("w") as log:
        return subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=env)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines()
             if line.strip() and not re.match(r"(Run|See) 'docker .*--help'", line)]
    return lines[-1] if lines else "no output"
