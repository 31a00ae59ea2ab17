"""The layers every Docker-mode stand-in of a class starts with (``LOCALCLOUD_REGISTRY_SEED``).

Each submission pushes two images into a private stand-in of its own, and docker compresses and uploads every
layer that registry does not have. The layers the class shares (the Lambda and Python base images, the
dependencies, the lab's serving code) are most of each image, and compressing them was most of a submission's
CPU. So, before the class, :func:`make` builds the reference's two images exactly as the grader builds a
submission's (step 3's from ``lab_solution``'s Dockerfile, step 9's from the lab's given one, both through
:mod:`checks.sandbox.build`, whose cache the submissions' builds then share), pushes them once into a stand-in
of its own, and keeps their layers. The push also records in the engine which compressed layer each of its
layers is; a submission's push then asks its stand-in for them, finds them seeded
(:meth:`localcloud.aws.ecr.registry.Registry.link_seeded`), and uploads only its own.

Nothing in the seed comes from a student: public base images, the lab's given files and the reference, which
ships with the lab. The model in it is a placeholder: the layer that holds it is each submission's own anyway.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from labkit import config

from .. import step3_image
from ..context import REPO_ROOT, Context
from ..sandbox import build
from . import built


def make(folder: Path) -> tuple[Path | None, str]:
    """Build the seed in ``folder``: (the seed, what it holds) or (None, why there is none; the class is graded
    without it, as fast as before). Leaves no image name and no stand-in behind."""
    from localcloud import process

    ctx = Context(config.load({"LAB_TARGET": "local", "LAB_DOCKER": "auto"}, code=str(REPO_ROOT / "lab_solution"),
                              build_dir=folder / "build"))
    model = folder / "model.joblib"
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(b"a placeholder: the seed's images are pushed, never run\n")
    images = {"lambda": lambda_image(ctx, model), "cloudrun": built.service_image(ctx, model)}
    failed = [f"{name}: {why}" for name, (image, why) in images.items() if image is None]
    if failed:
        return None, "; ".join(failed)
    seed, layers, repository = folder / "layers", set(), f"lab-seed-{secrets.token_hex(4)}"
    with process.running(home=folder / "cloud", mode="host") as cloud:
        cloud.client("ecr").create_repository(repositoryName=repository)
        registry = cloud.endpoint.removeprefix("http://")
        try:
            for name, (image, _) in images.items():
                why = built.push(image, f"{registry}/{repository}:{name}")
                if why:
                    return None, why
                layers |= set(cloud.save_layers(repository, name, seed))
        finally:
            built.remove(repository, registry)
    return seed, f"{len(layers)} layers of the reference's two images"


def lambda_image(ctx: Context, model: Path) -> tuple[str | None, str]:
    """The image of ``ctx``'s Dockerfile, built as step 3 builds a submission's: (its id, "") or (None, why not)."""
    with tempfile.TemporaryDirectory(prefix="lab-grade-build-") as folder:
        tag = build.stage(step3_image.context_files(ctx, model), Path(folder) / "context")
        image, log = build.build(Path(folder) / "context", tag, ctx.settings.platform, timeout=built.BUILD_SECONDS)
    return image, "" if image else f"the reference's Lambda image did not build: {log}"
