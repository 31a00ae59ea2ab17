"""Step 3: package the handler and model as a Lambda container image, and test it locally.

    python -m lab_solution.image      # stage, build, describe, and test the image with the RIE

You write two things: the ``Dockerfile`` next to this file (what goes into the image, in
which order) and :func:`build_command` (how Docker must build it for Lambda). Staging the
build context, the progress bar and running the image under AWS's Runtime Interface
Emulator are given (``labkit.images``). Without a Docker engine (host mode) the staged
folder is run directly instead of an image.
"""

from __future__ import annotations

from pathlib import Path

from labkit import config, dockercli, images
from labkit.config import Settings
from labkit.errors import run_cli
from labkit.images import ImageInfo

CODE_DIR = Path(__file__).resolve().parent  # this folder's Dockerfile and app.py are what gets packaged


def build_command(settings: Settings, tag: str) -> list[str]:
    """The ``docker`` arguments that build a Lambda-compatible image named ``tag``.

    Returns:
        e.g. ``["build", "--platform", "linux/amd64", "--tag", tag]``, or with buildx
        ``["buildx", "build", "--platform", ..., "--tag", tag, "--provenance=false", "--load"]``;
        the build context folder (and ``--network host`` where needed) is appended for you.
    """
    # Lambda runs one architecture: an image built on an Apple-silicon laptop is arm64 unless we ask for
    # amd64, and on an x86_64 function it fails with "exec format error".
    # BuildKit adds provenance attestations, which turn the image into a manifest list that Lambda
    # rejects ("The image manifest, config or layer media type ... is not supported").
    # BEGIN SOLUTION: build for settings.platform with --tag; with dockercli.has_buildx() use "buildx build" plus --provenance=false and --load.
    args = ["build", "--platform", settings.platform, "--tag", tag]
    if dockercli.has_buildx():
        args = ["buildx", *args, "--provenance=false", "--load"]
    return args
    # END SOLUTION


def build(settings: Settings, context: Path, tag: str | None = None) -> ImageInfo:
    """Build the staged context with :func:`build_command`; returns the image's size, architecture and layers."""
    return images.build(settings, context, build_command(settings, tag or images.local_tag(settings)))


def main() -> int:
    settings = config.load()
    print(f"packaging {CODE_DIR / 'Dockerfile'} and {CODE_DIR / 'app.py'} (LAB_CODE={settings.code})")
    context = images.stage(settings, CODE_DIR)
    if images.uses_docker(settings):
        info = build(settings, context)
        print(f"{info.tag}: {info.size_bytes / 1e6:.0f} MB, {info.architecture}, {len(info.layers)} layers")
        target = info.tag
    else:
        print(f"no Docker engine: staged {context} for host mode instead of building an image")
        target = context
    with images.run_local(settings, target) as local:
        payload, elapsed = local.invoke(config.SETOSA)
        print(f"local invoke ({elapsed:.0f} ms): {payload}")
        if not isinstance(payload, dict) or payload.get("statusCode") != 200:
            print(f"the handler did not answer 200; its log:\n{local.logs()[-2000:]}")
            return 1
    return 0


if __name__ == "__main__":
    run_cli(main)
