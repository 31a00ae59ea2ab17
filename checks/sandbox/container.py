"""The grader's Docker: its sandbox image, and step 3's hardened run of the submission's own image.

:mod:`checks.sandbox.spawn` runs steps 1 and 2 in a container of the sandbox image
(:func:`ensure_sandbox_image`); step 3 (:mod:`checks.step3_image`) uses the rest, after
:mod:`checks.sandbox.build` built the image (tagged after its staged content, so it is this
submission's image and no other run's); every later check uses the image id the build wrote,
never a tag someone else may have moved. Containers run read-only, as a non-root user, with
no capabilities and memory and pids limits.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from labkit.config import REPO_ROOT
from lambda_rie import run as rie

SANDBOX_UID = 65534  # nobody: the user every container of the grader runs as
HARDENED = ["--read-only", "--user", f"{SANDBOX_UID}:{SANDBOX_UID}", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--memory", "1g", "--pids-limit", "64", "--tmpfs", "/tmp:rw,size=64m"]
MAX_OUTPUT = 200_000
SANDBOX_IMAGE = "serverless-iris-grader-sandbox:1"


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
    An answer with an HTTP error status (502: the runtime exited) raises RuntimeError.
    """
    config = inspect(image).get("Config") or {}
    bootstrap = (config.get("Entrypoint") or ["/lambda-entrypoint.sh"]) + (config.get("Cmd") or [])
    options = ["--name", f"lab-grade-rie-{secrets.token_hex(6)}", *HARDENED]
    with rie.running(image, bootstrap=bootstrap, environment={"AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_s)},
                     options=options) as emulator:

        def invoke(event: object) -> object:
            status, body = emulator.invoke(event, timeout_s + 30, limit=MAX_OUTPUT)
            if status >= 400:
                raise RuntimeError(f"the emulator answered HTTP {status}: {body[:300].decode('utf-8', 'replace')}")
            return rie.payload(body)

        yield invoke


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
