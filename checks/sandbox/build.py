"""Step 3's build of the submission's own image: staged without links, reaching nothing but the package index.

- :func:`stage` copies the build context file by file and refuses a symbolic link (naming it) anywhere below
  the folder a file comes from: a link could hand the build a file of the grader's machine.
- :func:`build` runs Docker's classic builder with the network of a *gate* container: its own network
  namespace (``--network none``: loopback only), where :mod:`localcloud.relay` on ``127.0.0.1:3128`` passes each
  connection through a unix socket in a private folder to :class:`~checks.sandbox.indexproxy.IndexProxy`, a proxy of the grader's
  that opens HTTPS tunnels (``CONNECT``) to the package index pip uses by default and to nothing else (no other host,
  no other port, never a loopback, private, link-local or metadata address). The build gets ``HTTPS_PROXY`` (one of Docker's predefined
  build args, never written into the image), so ``pip install`` works, while a RUN that calls the stand-in,
  another local service or the internet is refused. ``dockerd --bridge=none`` has no network a build could
  join otherwise, and BuildKit offers no ``container:`` network, hence ``DOCKER_BUILDKIT=0``.
- A failed build is told by :func:`failure`: the instruction that failed and the last lines it printed, with
  the grader's own paths replaced; nothing else of the log reaches the report.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from labkit.config import REPO_ROOT
from lambda_rie import WaitTimeout, wait_for
from localcloud import relay

from .indexproxy import IndexProxy

GATE_IMAGE = "public.ecr.aws/lambda/python:3.11"  # has Python; every lab build starts from it
GATE_PORT = 3128  # inside the gate's own network namespace: never a port of this machine
TAIL_LINES = 5
RELAY_IN_GATE = "/opt/relay.py"


class LinkRefused(Exception):
    """A file of the build context is a symbolic link, or lies below one; ``name`` is its name in the context."""

    def __init__(self, name: str):
        super().__init__(f"{name} is a symbolic link (or lies in a linked folder)")
        self.name = name


def stage(files: dict[str, tuple[Path, Path]], folder: Path) -> str:
    """Copy the build context into ``folder``; returns a tag named after its content.

    Args:
        files: name in the context -> (the folder it comes from, the file); no link is followed below that folder.
    """
    digest = hashlib.sha256()
    for name, (root, source) in sorted(files.items()):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_read_without_links(root, source, name))
        digest.update(name.encode() + b"\0" + target.read_bytes() + b"\0")
    return f"lab-grade/submission:{digest.hexdigest()[:16]}"


def _read_without_links(root: Path, source: Path, name: str) -> bytes:
    path = root
    for part in source.relative_to(root).parts:
        path = path / part
        if path.is_symlink():
            raise LinkRefused(name)
    descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read()


def build(context: Path, tag: str, platform: str, timeout: float) -> tuple[str | None, str]:
    """The classic builder through the gate; returns (image id or None, what went wrong, in the student's terms)."""
    iid = context.parent / "image.id"
    with gate(context.parent) as network:
        proxy = f"http://127.0.0.1:{GATE_PORT}"
        command = ["docker", "build", "--network", network, "--platform", platform, "--tag", tag, "--iidfile", str(iid),
                   *(a for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
                     for a in ("--build-arg", f"{name}={proxy}")), str(context)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "DOCKER_BUILDKIT": "0"})
        except subprocess.TimeoutExpired:
            return None, f"the build took longer than {timeout:.0f} s"
    if done.returncode == 0 and iid.exists():
        return iid.read_text().strip(), ""
    return None, failure(done.stdout, done.stderr, context)


def failure(log: str, errors: str, context: Path) -> str:
    """The failing instruction, the last lines it printed and the builder's verdict (classic builder or BuildKit's
    plain log), the grader's paths replaced."""
    verdicts = [line.strip() for line in errors.splitlines()
                if re.search(r"returned a non-zero code|failed|error", line, re.I) and "DEPRECATED" not in line]
    verdict = verdicts[-1][:300] if verdicts else ""
    step, printed = None, []
    for line in log.splitlines():
        found = re.match(r"^Step \d+/\d+ : (.*)$|^#\d+ \[[^\]]*\d+/\d+\] (.*)$", line)
        if found:
            step, printed = found.group(1) or found.group(2), []
        elif step is not None and line.strip() and not re.match(
                r"^( ---> |Removing intermediate container|#\d+ (DONE|CACHED|ERROR))", line):
            printed.append(re.sub(r"^#\d+ [\d.]+ ", "", line))
    if step is None:
        return _scrub(f"before any instruction of the Dockerfile ran: {verdict or 'no output'}", context)
    tail = " | ".join(line.strip()[:200] for line in printed[-TAIL_LINES:] if line.strip() != verdict)
    return _scrub(f"{step[:200]} failed" + (f": {tail}" if tail else "") + (f" ({verdict})" if verdict else ""),
                  context)


def _scrub(text: str, context: Path) -> str:
    for path, shown in ((context, "<context>"), (context.parent, "<build>"), (REPO_ROOT, "<grader>"),
                        (Path(tempfile.gettempdir()), "<tmp>"), (Path.home(), "<home>")):
        text = text.replace(str(path), shown)
    return text[:1500]


@contextlib.contextmanager
def gate(folder: Path) -> Iterator[str]:
    """A network namespace for the build whose only way out is :class:`IndexProxy`; yields ``container:NAME``."""
    gate_folder = folder / "gate"
    gate_folder.mkdir(mode=0o711)
    name = f"lab-grade-gate-{secrets.token_hex(6)}"
    with IndexProxy(gate_folder / "proxy.sock"):
        started = subprocess.run(
            ["docker", "run", "-d", "--interactive", "--rm", "--name", name, "--network", "none", "--read-only",
             "--user", "65534:65534", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--memory", "128m",
             "--pids-limit", "64", "-v", f"{gate_folder}:/gate", "-v", f"{relay.__file__}:{RELAY_IN_GATE}:ro",
             "--entrypoint", "/var/lang/bin/python", GATE_IMAGE, "-I", "-S", RELAY_IN_GATE, "out-of", str(GATE_PORT),
             "/gate/proxy.sock"],
            capture_output=True, text=True, timeout=120)
        try:
            yield f"container:{name}" if started.returncode == 0 and _ready(name) else "none"
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


def _ready(name: str, seconds: float = 20) -> bool:
    """Whether the gate's relay listens (it says so on its output)."""
    def said() -> bool:
        return "ready" in subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=30).stdout

    with contextlib.suppress(WaitTimeout):
        return wait_for(said, seconds, interval=0.1, what="the build gate")
    return False
