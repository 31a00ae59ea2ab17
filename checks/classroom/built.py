"""The images of a deploy-mode submission graded with Docker: named, built and pushed by the grader, then removed.

- Notebook 03 leaves the image of the submission's Dockerfile under ``images.local_tag()``. Step 3's grading
  built exactly that image (:func:`checks.step3_image.context_files`, tagged after its content); :func:`name`
  gives it the notebook's name, so that the submission's own ``registry.push()`` (sandboxed, through its
  :class:`~checks.sandbox.dockergate.DockerGate`) has something to push, and nothing else.
- Notebook 09 builds and pushes the Cloud Run image with the lab's given code (:mod:`labkit.gcp`);
  :func:`publish_service` does the same from the submission's ``service.py`` and ``app.py``, staged without
  links and built through the package-index gate (:mod:`checks.sandbox.build`), as step 3's image is.
- :func:`remove` deletes every name the submission's run gave an image, and the images its stand-in's engine
  pulled, so that no later submission (whose private stand-in may get the same port) finds them; the batch
  calls it again for a worker it had to kill.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from labkit import gcp, images

from .. import step3_image
from ..context import Context
from ..sandbox import build

BUILD_SECONDS, DOCKER_SECONDS = 900, 300
SERVICE_FILES = ("app.py", "service.py")  # the submission's part of the Cloud Run context


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=DOCKER_SECONDS)


def name(ctx: Context) -> bool:
    """Give the image step 3 built from the submission's Dockerfile notebook 03's name; False when there is none."""
    model = ctx.settings.model_dir / "model.joblib"
    if not model.is_file():
        return False
    with tempfile.TemporaryDirectory(prefix="lab-grade-build-") as folder:
        try:
            tag = build.stage(step3_image.context_files(ctx, model), Path(folder) / "context")
        except build.LinkRefused:
            return False
    return docker("tag", tag, images.local_tag(ctx.settings)).returncode == 0


def service_image(ctx: Context, model: Path) -> tuple[str | None, str]:
    """Build the Cloud Run image from the submission's service and ``model`` as notebook 09 would: (its id, "") or
    (None, why not)."""
    lab = ctx.settings
    lab_files = {"Dockerfile": gcp.CLOUDRUN_DIR / "Dockerfile", "requirements.txt": gcp.CLOUDRUN_DIR / "requirements.txt",
                 ".dockerignore": images.CONTEXT_FILES[".dockerignore"],
                 "requirements-model.txt": images.CONTEXT_FILES["requirements.txt"], **images.SERVING_FILES}
    files = {n: (p.parent, p) for n, p in lab_files.items()} | {"model.joblib": (model.parent, model)}
    files |= {n: (ctx.folder, ctx.source(n)) for n in SERVICE_FILES if ctx.source(n).is_file() or ctx.source(n).is_symlink()}
    amd64 = lab.with_overrides(architecture="x86_64")  # Cloud Run runs amd64 images only
    with tempfile.TemporaryDirectory(prefix="lab-grade-service-") as folder:
        try:
            tag = build.stage(files, Path(folder) / "context")
        except build.LinkRefused as link:
            return None, f"{link.name} is a symbolic link"
        image, log = build.build(Path(folder) / "context", tag, amd64.platform, timeout=BUILD_SECONDS)
    return image, "" if image else f"the Cloud Run image did not build: {log}"


def publish_service(ctx: Context) -> str | None:
    """Build the Cloud Run image from the submission's service and push it where notebook 09 would; why not, or None."""
    model = ctx.settings.model_dir / "model.joblib"
    if not model.is_file():
        return "no trained model"
    image, why = service_image(ctx, model)
    return push(image, gcp.push_target(ctx.settings)) if image else why


def push(image: str, target: str) -> str | None:
    """Name ``image`` ``target`` and push it there; why not, or None."""
    for args in (("tag", image, target), ("push", target)):
        done = docker(*args)
        if done.returncode != 0:
            return f"docker {args[0]} {target} failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return None


def remove(name: str, registry: str | None = None) -> None:
    """Delete every image name of a submission's run: each whose path has the run's resource prefix ``name`` as a
    segment (notebook 03's tag, the pushed and pulled names, step 9's), and each under its stand-in's ``registry``.
    An image that still has another name (step 3's, after its content) stays."""
    found = set()
    for line in docker("image", "ls", "--digests", "--format", "{{.Repository}}\t{{.Tag}}\t{{.Digest}}").stdout.splitlines():
        repository, tag, digest = line.split("\t")
        if name in repository.split("/") or (registry and repository.startswith(f"{registry}/")):
            found |= {f"{repository}:{tag}"} if tag != "<none>" else set()
            found |= {f"{repository}@{digest}"} if digest != "<none>" else set()
    if found:
        docker("image", "rm", *sorted(found))
