"""The grader's Docker: its sandbox image, and step 3's build and hardened run of the submission's own image.

:mod:`checks.sandbox.spawn` runs steps 1 and 2 in a container of the sandbox image
(:func:`ensure_sandbox_image`); step 3 (:mod:`checks.step3_image`) uses the rest.

The image is built from a context the grader stages (the submission's Dockerfile and
``app.py``, the lab's serving code, the requirements and the model) and tagged after
that content, so it is this submission's image and no other run's; every later check
uses the image id the build wrote, never a tag someone else may have moved. Containers
run read-only, as a non-root user, with no capabilities and memory and pids limits.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from labkit.config import REPO_ROOT

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
HARDENED = ["--read-only", "--user", "65534:65534", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--memory", "1g", "--pids-limit", "64", "--tmpfs", "/tmp:rw,size=64m"]
MAX_OUTPUT = 200_000
SANDBOX_IMAGE = "serverless-iris-grader-sandbox:1"


def stage(files: dict[str, Path], folder: Path) -> str:
    """Copy the build context into ``folder``; returns a tag named after its content."""
    digest = hashlib.sha256()
    for name, source in sorted(files.items()):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, folder / name)
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return f"lab-grade/submission:{digest.hexdigest()[:16]}"


def build(context: Path, tag: str, platform: str, timeout: float) -> tuple[str | None, str]:
    """``docker build`` with the grader's own arguments; returns (image id or None, the log's tail)."""
    iid = context.parent / "image.id"
    command = ["docker", "build", "--network", "host", "--platform", platform, "--tag", tag, "--iidfile", str(iid),
               str(context)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"the build took longer than {timeout:.0f} s"
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-6:])[-1500:]
    return (iid.read_text().strip() if done.returncode == 0 and iid.exists() else None), tail


def inspect(image: str) -> dict:
    done = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout)[0] if done.returncode == 0 else {}


def python_in(image: str, script: str, timeout: float = 120) -> tuple[int, str]:
    """Run a Python script of the grader's in the image, offline and hardened."""
    command = ["docker", "run", "--rm", "--network", "none", *HARDENED, "--entrypoint", "/var/lang/bin/python",
               image, "-I", "-c", script]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {timeout:.0f} s"
    return done.returncode, (done.stdout if done.returncode == 0 else done.stderr)[-MAX_OUTPUT:]


@contextlib.contextmanager
def under_rie(image: str, timeout_s: int) -> Iterator[callable]:
    """The image's handler under the Runtime Interface Emulator on a loopback port; yields invoke(event).

    As Lambda does, the image's own ENTRYPOINT and CMD start the runtime (so a wrong CMD fails here too).
    """
    config = inspect(image).get("Config") or {}
    bootstrap = (config.get("Entrypoint") or ["/lambda-entrypoint.sh"]) + (config.get("Cmd") or [])
    port, runtime_port = _free_port(), _free_port()
    name = f"lab-grade-rie-{port}"
    command = ["docker", "run", "--detach", "--rm", "--name", name, "--network", "host", *HARDENED,
               "--env", f"AWS_LAMBDA_FUNCTION_TIMEOUT={timeout_s}", "--entrypoint", "/usr/local/bin/aws-lambda-rie",
               image, "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
               "--runtime-api-address", f"127.0.0.1:{runtime_port}", *bootstrap]
    started = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if started.returncode != 0:
        raise RuntimeError(f"the container did not start: {started.stderr.strip()[-300:]}")
    try:
        _wait_for(port)
        yield lambda event: _invoke(port, event, timeout_s + 30)
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, timeout=60)


def _invoke(port: int, event: object, timeout: float) -> object:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{INVOKE_PATH}", data=json.dumps(event).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - our own loopback URL
        text = answer.read(MAX_OUTPUT).decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the emulator did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def docker_available() -> bool:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                              timeout=10).returncode == 0
    return False


def ensure_sandbox_image(build: bool = True) -> bool:
    """Whether the grader's sandbox image (the Lambda base + the image's pinned packages) is there; built
    once when ``build``."""
    if subprocess.run(["docker", "image", "inspect", SANDBOX_IMAGE], capture_output=True).returncode == 0:
        return True
    if not build:
        return False
    with tempfile.TemporaryDirectory(prefix="lab-grade-image-") as context:
        shutil.copy(REPO_ROOT / "docker" / "requirements.txt", Path(context) / "requirements.txt")
        (Path(context) / "Dockerfile").write_text(
            "FROM public.ecr.aws/lambda/python:3.11\nCOPY requirements.txt /tmp/\n"
            "RUN pip install --no-cache-dir -r /tmp/requirements.txt\n")
        done = subprocess.run(["docker", "build", "--network", "host", "--tag", SANDBOX_IMAGE, context],
                              capture_output=True, timeout=900)
    return done.returncode == 0
