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


RIE_PORT = 8080  # on the container's own loopback: with --network none no one else has it
INVOKER = f"""
import json, socket, sys, time, urllib.error, urllib.request
deadline = time.monotonic() + 30
while socket.socket().connect_ex(("127.0.0.1", {RIE_PORT})) and time.monotonic() < deadline:
    time.sleep(0.1)
request = urllib.request.Request("http://127.0.0.1:{RIE_PORT}{rie.INVOKE_PATH}", data=sys.stdin.buffer.read(),
                                 headers={{"Content-Type": "application/json"}})
try:
    with urllib.request.build_opener(urllib.request.ProxyHandler({{}})).open(request, timeout=float(sys.argv[1])) as a:
        status, body = a.status, a.read({MAX_OUTPUT})
except urllib.error.HTTPError as error:
    status, body = error.code, error.read({MAX_OUTPUT})
print(json.dumps([status, body.decode("utf-8", "replace")]))
"""


@contextlib.contextmanager
def under_rie(image: str, timeout_s: int) -> Iterator[callable]:
    """The image's handler under the Runtime Interface Emulator, with no network; yields invoke(event).

    As Lambda does, the image's own ENTRYPOINT and CMD start the runtime (so a wrong CMD fails here too). The
    container has only its own loopback (``--network none``), where the RIE listens; each invoke is a
    ``docker exec`` of a small Python script of the grader's in that namespace, so the handler's code reaches
    nothing of this machine. An answer with an HTTP error status (502: the runtime exited) raises RuntimeError.
    """
    config = inspect(image).get("Config") or {}
    bootstrap = (config.get("Entrypoint") or [rie.ENTRYPOINT]) + (config.get("Cmd") or [])
    name = f"lab-grade-rie-{secrets.token_hex(6)}"
    started = subprocess.run(["docker", "run", "--detach", "--rm", "--name", name, "--network", "none", *HARDENED,
                              "--env", f"AWS_LAMBDA_FUNCTION_TIMEOUT={timeout_s}", "--entrypoint", rie.RIE_IN_IMAGE,
                              image, "--runtime-interface-emulator-address", f"127.0.0.1:{RIE_PORT}",
                              "--runtime-api-address", "127.0.0.1:9001", *bootstrap],
                             capture_output=True, text=True, timeout=120)
    if started.returncode != 0:
        raise RuntimeError(f"the emulator did not start: {started.stderr.strip()[-300:]}")

    def invoke(event: object) -> object:
        done = subprocess.run(["docker", "exec", "-i", name, "/var/lang/bin/python", "-I", "-c", INVOKER,
                               str(timeout_s + 30)], input=json.dumps(event), capture_output=True, text=True,
                              timeout=timeout_s + 90)
        try:
            status, body = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise RuntimeError(f"the emulator did not answer: {(done.stderr or done.stdout).strip()[-300:]}") from None
        if status >= 400:
            raise RuntimeError(f"the emulator answered HTTP {status}: {body[:300]}")
        return rie.payload(body.encode())

    try:
        yield invoke
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


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
