"""Step 3: package the handler and model as a Lambda container image, and test it locally.

    python -m lab_solution.image      # stage, build, describe, and test the image with the RIE

The build context is a small folder staged from ``docker/`` and the step-1/2 outputs,
so the image holds exactly what Lambda needs. Locally the image runs under the AWS
Runtime Interface Emulator (RIE), which speaks the same invoke API as Lambda.

Without a Docker engine (host mode) the staged folder *is* the package: the RIE runs
the handler from it with this machine's Python, and the local AWS stand-in does the same.
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
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

import requests
from tqdm import tqdm

from lambda_rie import ensure_rie

from . import config, dockercli
from .config import Settings
from .errors import LabError, run_cli

DOCKER_DIR = config.REPO_ROOT / "docker"
CONTEXT_FILES = {"Dockerfile": DOCKER_DIR / "Dockerfile", ".dockerignore": DOCKER_DIR / ".dockerignore",
                 "requirements.txt": DOCKER_DIR / "requirements.txt"}
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


def stage(settings: Settings, app_source: Path) -> Path:
    """Copy the Dockerfile, requirements, handler and model into the build context folder.

    Args:
        settings: lab settings (``image_context`` is the folder, ``model_dir`` holds the model).
        app_source: the ``app.py`` to package (yours or the reference one).
    """
    model = settings.model_dir / "model.joblib"
    if not model.exists():
        raise LabError(f"{model} does not exist yet: train the model first (step 1)")
    return fill_context(settings.image_context,
                        {**CONTEXT_FILES, **SERVING_FILES, "app.py": app_source, "model.joblib": model})


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


def build_command(settings: Settings, context: Path, tag: str) -> list[str]:
    """The ``docker build`` arguments for a Lambda-compatible image."""
    # Lambda runs one architecture: an image built on an Apple-silicon laptop is arm64 unless we ask for
    # amd64, and on an x86_64 function it fails with "exec format error".
    # BuildKit adds provenance attestations, which turn the image into a manifest list that Lambda
    # rejects ("The image manifest, config or layer media type ... is not supported").
    # BEGIN SOLUTION: set args to ["build", "--platform", ..., "--tag", tag]; with dockercli.has_buildx(), make it "buildx build" plus --provenance=false and --load.
    args = ["build", "--platform", settings.platform, "--tag", tag]
    if dockercli.has_buildx():
        args = ["buildx", *args, "--provenance=false", "--load"]
    # END SOLUTION
    if not dockercli.has_bridge_network():
        args += ["--network", "host"]  # engines started without a bridge (this lab's CI) need it
    return [*args, str(context)]


def build(settings: Settings, context: Path, tag: str | None = None) -> ImageInfo:
    """Build the image from a staged context, showing one progress step per Dockerfile instruction."""
    tag = tag or local_tag(settings)
    instructions = [line for line in (context / "Dockerfile").read_text().splitlines()
                    if re.match(r"\s*[A-Z]+\s", line)]
    step = re.compile(r"^Step \d+/\d+ : |^#\d+ \[\s*\d+/\d+\]")  # classic builder | BuildKit
    with tqdm(total=len(instructions), desc=f"building {tag}", unit="step") as bar:
        dockercli.stream(build_command(settings, context, tag), what="build",
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
    # BEGIN SOLUTION: docker run -d --rm with the platform; on Linux --network host and the RIE on 127.0.0.1:port, elsewhere -p 127.0.0.1:port:8080.
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
    # END SOLUTION
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


def main() -> int:
    settings = config.load()
    app_source = config.code_path(settings, "app")
    print(f"packaging {app_source} (LAB_CODE={settings.code})")
    context = stage(settings, app_source)
    if uses_docker(settings):
        info = build(settings, context)
        print(f"{info.tag}: {info.size_bytes / 1e6:.0f} MB, {info.architecture}, {len(info.layers)} layers")
        target = info.tag
    else:
        print(f"no Docker engine: staged {context} for host mode instead of building an image")
        target = context
    with run_local(settings, target) as local:
        payload, elapsed = local.invoke(config.SETOSA)
        print(f"local invoke ({elapsed:.0f} ms): {payload}")
        if payload.get("statusCode") != 200:
            print(f"the handler did not answer 200; its log:\n{local.logs()[-2000:]}")
            return 1
    return 0


if __name__ == "__main__":
    run_cli(main)
