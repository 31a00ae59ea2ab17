"""Lambda container images on this machine: stage the build context, build, describe, run under the RIE.

The build context is a small folder staged from the student's ``Dockerfile`` and ``app.py``,
the given serving code (``labkit/serving.py``), ``docker/requirements.txt`` and the model,
so the image holds exactly what Lambda needs. Locally an image runs under the AWS Runtime
Interface Emulator (RIE, started by :mod:`lambda_rie.run`), which speaks the same invoke API as Lambda.

Without a Docker engine (host mode) the staged folder *is* the package: the RIE runs the
handler from it with this machine's Python, and the local AWS stand-in does the same.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from lambda_rie import WaitTimeout, wait_for
from lambda_rie import run as rie

from . import config, dockercli
from .bilingual import say, text
from .config import Settings
from .errors import LabError

RTDONE = r"INVOKE RTDONE\(status: \w+.*?duration: ([\d.]+)ms\)"  # the RIE's line once an invocation is done

DOCKER_DIR = config.REPO_ROOT / "docker"
CONTEXT_FILES = {".dockerignore": DOCKER_DIR / ".dockerignore", "requirements.txt": DOCKER_DIR / "requirements.txt"}
# The given serving code app.py imports (request validation, the model loader): it ships in the image.
LABKIT_DIR = config.REPO_ROOT / "labkit"
SERVING_FILES = {f"labkit/{name}": LABKIT_DIR / name for name in ("__init__.py", "serving.py", "todo.py")}
HANDLER = "app.handler"


@dataclass(frozen=True)
class ImageInfo:
    tag: str
    size_bytes: int
    architecture: str
    layers: list[tuple[int, str]]  # (bytes, Dockerfile instruction), newest first
    filesystem_layers: int  # layers with files in them: what a push uploads


def trained_model(settings: Settings) -> Path:
    """Step 1's ``model.joblib``, which every image and variant packages.

    Raises:
        LabError: it does not exist yet (in both languages: train the model first).
    """
    model = settings.model_dir / "model.joblib"
    if not model.exists():
        raise LabError(say(f"{model} does not exist yet: train the model first (step 1)",
                           f"{model} এখনো নেই: আগে model train করো (step 1)"))
    return model


def local_tag(settings: Settings) -> str:
    return f"{settings.name}:latest"


def stage(settings: Settings, code_dir: Path, context: Path | None = None) -> Path:
    """Copy the Dockerfile and ``app.py`` of ``code_dir``, the serving code, requirements and model into a build context.

    Args:
        settings: lab settings (``image_context`` is the default folder, ``model_dir`` holds the model).
        code_dir: the folder of the code being packaged (``exercises/``, ``lab_solution/`` or a submission).
        context: the folder to fill (default: ``settings.image_context``).
    """
    model = trained_model(settings)
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
        raise LabError(say("the docker build command has no --tag: name the image you build",
                           "docker build command-এ --tag নেই: যে image build করছ তার নাম দাও"))
    if not dockercli.has_bridge_network():
        args = [*args, "--network", "host"]  # engines started without a bridge (this lab's CI) need it
    instructions = [line for line in (context / "Dockerfile").read_text().splitlines()
                    if re.match(r"\s*[A-Z]+\s", line)]
    step = re.compile(r"^Step \d+/\d+ : |^#\d+ \[\s*\d+/\d+\]")  # classic builder | BuildKit
    building = text(say(f"building {tag}", f"{tag} build হচ্ছে"), settings.lang)
    with tqdm(total=len(instructions), desc=building, unit="step") as bar:
        dockercli.stream([*args, str(context)], what="build",
                         on_line=lambda line: bar.update(1) if step.match(line) and bar.n < bar.total else None)
        bar.n = bar.total
    info = describe(tag)
    wanted = settings.platform.split("/")[1]
    if info.architecture != wanted:
        # Docker's classic builder accepts --platform but builds for the base image's architecture.
        raise LabError(say(f"built a {info.architecture} image for a {settings.architecture} function; "
                           "build with docker buildx (Docker Desktop has it) or set LAB_ARCH to match",
                           f"{settings.architecture} function-এর জন্য {info.architecture} image build হয়েছে; "
                           "docker buildx দিয়ে build করো (Docker Desktop-এ আছে), বা LAB_ARCH মিলিয়ে দাও"))
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

    emulator: rie.Emulator
    invoked: int = 0

    @property
    def url(self) -> str:
        return self.emulator.url

    def invoke(self, event: object, timeout: float = 60) -> tuple[object, float]:
        """POST one event, as Lambda's Invoke API does; returns (payload, milliseconds)."""
        started = time.perf_counter()
        _, body = self.emulator.invoke(event, timeout)
        self.invoked += 1
        return rie.payload(body), (time.perf_counter() - started) * 1000

    def logs(self) -> str:
        """Everything the emulator and the handler printed so far."""
        return self.emulator.logs()

    def durations(self, wait_s: float = 10) -> dict[str, list[float]]:
        """Init and invoke durations (ms) from the RIE's log lines, once the log shows every invocation made so far
        (a container's log arrives after its answer), or after ``wait_s``."""
        def logged() -> str | None:
            text = self.logs()
            return text if len(re.findall(RTDONE, text)) >= self.invoked else None

        with contextlib.suppress(WaitTimeout):
            wait_for(logged, wait_s, interval=0.1, what="the RIE's log")
        text = self.logs()
        return {"init_ms": [float(v) for v in re.findall(r"INIT REPORT\(durationMs: ([\d.]+)\)", text)],
                "invoke_ms": [float(v) for v in re.findall(RTDONE, text)]}


@contextlib.contextmanager
def run_local(settings: Settings, image: str | Path) -> Iterator[LocalFunction]:
    """Run an image (docker mode) or a staged folder (host mode) under the RIE, then stop it.

    Args:
        image: an image tag, or the staged context folder in host mode.
    """
    environment = {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings.memory_mb),
                   "AWS_LAMBDA_FUNCTION_TIMEOUT": str(settings.timeout_s), "AWS_REGION": settings.region}
    try:
        with rie.running(image, handler=HANDLER, environment=environment, options=["--platform", settings.platform],
                         log_file=settings.build_dir / "host-rie.log" if isinstance(image, Path) else None) as emulator:
            yield LocalFunction(emulator)
    except rie.EmulatorError as error:
        raise LabError(str(error)) from None
