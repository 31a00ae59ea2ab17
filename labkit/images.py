"""Lambda container images on this machine: stage the build context, build, describe, run under the RIE.

The build context is a small folder staged from the student's ``Dockerfile`` and ``app.py``,
the given serving code (``labkit/serving.py``), ``docker/requirements.txt`` and the model,
so the image holds exactly what Lambda needs. Locally an image runs under the AWS Runtime
Interface Emulator (RIE), which speaks the same invoke API as Lambda.

Without a Docker engine (host mode) the staged folder *is* the package: the RIE runs the
handler from it with this machine's Python, and the local AWS stand-in does the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from tqdm import tqdm

from lambda_rie import ensure_rie

from . import config, dockercli
from .config import Settings
from .errors import LabError

DOCKER_DIR = config.REPO_ROOT / "docker"
CONTEXT_FILES = {".dockerignore": DOCKER_DIR / ".dockerignore", "requirements.txt": DOCKER_DIR / "requirements.txt"}
# The given serving code app.py imports (request validation, the model loader): it ships in the image.
LABKIT_DIR = config.REPO_ROOT / "labkit"
SERVING_FILES = {f"labkit/{name}": LABKIT_DIR / name for name in ("__init__.py", "serving.py", "todo.py")}
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
HANDLER = "app.handler"


@dataclass(frozen=True)
class ImageInfo:
    tag: str
    size_bytes: int
    architecture: str
    layers: list[tuple[int, str]]  # (bytes, Dockerfile instruction), newest first
    filesystem_layers: int  # layers with files in them: what a push uploads


def local_tag(settings: Settings) -> str:
    return f"{settings.name}:latest"


def stage(settings: Settings, code_dir: Path, context: Path | None = None) -> Path:
    """Copy the Dockerfile and ``app.py`` of ``code_dir``, the serving code, requirements and model into a build context.

    Args:
        settings: lab settings (``image_context`` is the default folder, ``model_dir`` holds the model).
        code_dir: the folder of the code being packaged (``exercises/``, ``lab_solution/`` or a submission).
        context: the folder to fill (default: ``settings.image_context``).
    """
    model = settings.model_dir / "model.joblib"
    if not model.exists():
        raise LabError(f"{model} does not exist yet: train the model first (step 1)")
    return fill_context(context or settings.image_context, {**CONTEXT_FILES, **SERVING_FILES,
                        "Dockerfile": code_dir / "Dockerfile", "app.py": code_dir / "app.py", "model.joblib": model})


def fill_context(context: Path, files: dict[str, Path]) -> Path:
    """Make ``context`` hold exactly ``files`` (name in the context -> source file); returns it."""
    if context.exists():
        shutil.rmtree(context)
    context.mkdir(parents=True)
    for name, source in files.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, context / name)
    return context


def uses_docker(settings: Settings) -> bool:
    """Docker mode when an engine answers (and LAB_DOCKER is not ``off``); host mode otherwise."""
    return settings.docker != "off" and dockercli.engine_version() is not None


def build(settings: Settings, context: Path, args: list[str]) -> ImageInfo:
    """Run ``docker`` with ``args`` (a ``build`` command up to its ``--tag``) on a staged context, one progress
    step per Dockerfile instruction; returns the built image."""
    tag = args[args.index("--tag") + 1] if "--tag" in args else ""
    if not tag:
        raise LabError("the docker build command has no --tag: name the image you build")
    if not dockercli.has_bridge_network():
        args = [*args, "--network", "host"]  # engines started without a bridge (this lab's CI) need it
    instructions = [line for line in (context / "Dockerfile").read_text().splitlines()
                    if re.match(r"\s*[A-Z]+\s", line)]
    step = re.compile(r"^Step \d+/\d+ : |^#\d+ \[\s*\d+/\d+\]")  # classic builder | BuildKit
    with tqdm(total=len(instructions), desc=f"building {tag}", unit="step") as bar:
        dockercli.stream([*args, str(context)], what="build",
                         on_line=lambda line: bar.update(1) if step.match(line) and bar.n < bar.total else None)
        bar.n = bar.total
    info = describe(tag)
    wanted = settings.platform.split("/")[1]
    if info.architecture != wanted:
        # Docker's classic builder accepts --platform but builds for the base image's architecture.
        raise LabError(f"built a {info.architecture} image for a {settings.architecture} function; "
                       "build with docker buildx (Docker Desktop has it) or set LAB_ARCH to match")
    return info


def describe(tag: str) -> ImageInfo:
    """Size, architecture and layers of a local image."""
    inspected = json.loads(dockercli.run(["image", "inspect", tag], what=f"image inspect {tag}"))[0]
    history = dockercli.run(["history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", tag],
                            what="history")
    layers = []
    for line in history.splitlines():
        size, _, created_by = line.partition("\t")
        layers.append((int(size), re.sub(r"^/bin/sh -c (#\(nop\) )?\s*", "", created_by).strip()))
    return ImageInfo(tag, int(inspected["Size"]), inspected["Architecture"], layers, len(inspected["RootFS"]["Layers"]))


@dataclass
class LocalFunction:
    """A handler running under the RIE on this machine, in a container or (host mode) a process."""

    url: str
    container: str | None = None
    process: subprocess.Popen | None = None
    log_file: Path | None = None

    def invoke(self, event: object, timeout: float = 60) -> tuple[object, float]:
        """POST one event, as Lambda's Invoke API does; returns (payload, milliseconds)."""
        started = time.perf_counter()
        response = requests.post(self.url + INVOKE_PATH, json=event, timeout=timeout)
        elapsed = (time.perf_counter() - started) * 1000
        try:
            return response.json(), elapsed
        except ValueError:
            return response.text, elapsed

    def logs(self) -> str:
        """Everything the emulator and the handler printed so far."""
        if self.container:  # the RIE logs to stderr, the handler to stdout: keep both, in order
            done = subprocess.run(["docker", "logs", self.container], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=30)
            return done.stdout
        return self.log_file.read_text() if self.log_file else ""

    def durations(self) -> dict[str, list[float]]:
        """Init and invoke durations (ms) from the RIE's log lines."""
        text = self.logs()
        return {"init_ms": [float(v) for v in re.findall(r"INIT REPORT\(durationMs: ([\d.]+)\)", text)],
                "invoke_ms": [float(v) for v in re.findall(r"INVOKE RTDONE\(status: \w+.*?duration: ([\d.]+)ms\)", text)]}


@contextlib.contextmanager
def run_local(settings: Settings, image: str | Path) -> Iterator[LocalFunction]:
    """Run an image (docker mode) or a staged folder (host mode) under the RIE, then stop it.

    Args:
        image: an image tag, or the staged context folder in host mode.
    """
    port, runtime_port = _free_port(), _free_port()
    environment = {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings.memory_mb),
                   "AWS_LAMBDA_FUNCTION_TIMEOUT": str(settings.timeout_s), "AWS_REGION": settings.region}
    local = LocalFunction(f"http://127.0.0.1:{port}")
    try:
        if isinstance(image, Path):
            local.log_file = settings.build_dir / "host-rie.log"
            local.process = _start_host_process(image, environment, port, runtime_port, local.log_file)
        else:
            local.container = _start_container(settings, image, environment, port, runtime_port).strip()
        _wait_for_port(port, local)
        yield local
    finally:
        if local.container:
            subprocess.run(["docker", "stop", "--time", "1", local.container], capture_output=True)
        if local.process and local.process.poll() is None:
            local.process.terminate()
            local.process.wait(5)


def _start_container(settings, tag, environment, port, runtime_port) -> str:
    env_args = [arg for key, value in environment.items() for arg in ("--env", f"{key}={value}")]
    if platform.system() == "Linux":
        # Host networking, and the RIE told to listen on loopback ports of our choosing (as SAM CLI does),
        # so nothing is exposed beyond this machine and nothing else is needed to reach it.
        args = ["run", "--detach", "--rm", "--platform", settings.platform, "--network", "host", *env_args,
                "--entrypoint", "/usr/local/bin/aws-lambda-rie", tag,
                "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
                "--runtime-api-address", f"127.0.0.1:{runtime_port}", "/lambda-entrypoint.sh", HANDLER]
    else:  # Docker Desktop: the image's own entrypoint starts the RIE on :8080 inside the container
        args = ["run", "--detach", "--rm", "--platform", settings.platform, "--publish", f"127.0.0.1:{port}:8080",
                *env_args, tag]
    return dockercli.run(args, what=f"run {tag}")


def _start_host_process(folder: Path, environment, port, runtime_port, log_file: Path) -> subprocess.Popen:
    command = [str(ensure_rie()), "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
               "--runtime-api-address", f"127.0.0.1:{runtime_port}", sys.executable, "-m", "awslambdaric", HANDLER]
    with log_file.open("w") as log:  # Lambda's environment is small: only what the function needs
        return subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                                env={**environment, "LAMBDA_TASK_ROOT": str(folder), "PATH": os.defpath})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, local: LocalFunction, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if local.process and local.process.poll() is not None:
            raise LabError(f"the emulator exited: {local.logs()[-300:]}")
        time.sleep(0.1)
    raise LabError(f"the function did not start listening on 127.0.0.1:{port} within {timeout:.0f} s")


