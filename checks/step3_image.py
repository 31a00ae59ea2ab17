"""Step 3: the Dockerfile is Lambda's shape, the image builds, holds the right things and answers."""

from __future__ import annotations

import json
import re
import subprocess

from labkit import config, images
from labkit.config import SETOSA

from .events import load_event
from .framework import CheckFailed, CheckSkipped, step

STEP = step(3, "Build the container image")
BASE_IMAGE = "public.ecr.aws/lambda/python:3.11"
SIZE_BUDGET_MB = 1024  # Lambda allows 10 GB; a small image pulls faster on a cold start


def instructions(ctx) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) for each instruction of the graded Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", ctx.source("Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def _image(ctx):
    """The student's image module, and the tag it builds (docker mode) or None (host mode)."""
    image = ctx.code("image")
    return image, (images.local_tag(ctx.settings) if images.uses_docker(ctx.settings) else None)


def _needs_docker(tag):
    if tag is None:
        raise CheckSkipped("no Docker engine here (host mode): the image itself cannot be checked")


@STEP.check("the Dockerfile starts from AWS's Lambda Python 3.11 base image", points=1,
            hint="The first instruction should be FROM public.ecr.aws/lambda/python:3.11.")
def from_base(ctx):
    first = instructions(ctx)[0]
    if first != ("FROM", BASE_IMAGE):
        raise CheckFailed(f"the first instruction is {' '.join(first)}")


@STEP.check("the Dockerfile installs dependencies before it copies the code", points=1,
            hint="COPY requirements.txt and RUN pip install first, COPY app.py later: code edits then reuse the cached layer.")
def cache_friendly(ctx):
    steps = instructions(ctx)
    install = next((i for i, (k, a) in enumerate(steps) if k == "RUN" and "pip install" in a), None)
    code = next((i for i, (k, a) in enumerate(steps) if k == "COPY" and "app.py" in a), None)
    if install is None or code is None or install > code:
        raise CheckFailed("expected RUN pip install … before COPY app.py …")


@STEP.check("the Dockerfile copies the handler and model and sets CMD to app.handler", points=1,
            hint="COPY app.py model.joblib into ${LAMBDA_TASK_ROOT}, then CMD [\"app.handler\"].")
def handler_set(ctx):
    steps = instructions(ctx)
    copied = " ".join(a for k, a in steps if k == "COPY")
    cmd = [a for k, a in steps if k == "CMD"]
    problems = [f"{name} is never copied" for name in ("app.py", "model.joblib") if name not in copied]
    if not cmd or json.loads(cmd[-1]) != ["app.handler"]:
        problems.append(f"CMD is {cmd[-1] if cmd else 'missing'}")
    if problems:
        raise CheckFailed("; ".join(problems))


@STEP.check("the image builds for the function's architecture", points=3, timeout=1800,
            hint="Stage the context (stage()), then build with --platform for the function's architecture.")
def builds(ctx):
    image, tag = _image(ctx)
    context = images.stage(ctx.settings, config.code_dir(ctx.settings))
    _needs_docker(tag)
    info = image.build(ctx.settings, context, tag)
    expected = {"x86_64": "amd64", "arm64": "arm64"}[ctx.settings.architecture]
    if info.architecture != expected:
        raise CheckFailed(f"the image is {info.architecture}; the function is {ctx.settings.architecture} ({expected})")


@STEP.check("the image holds app.py, model.joblib and the pinned scikit-learn", points=1,
            needs="the image builds for the function's architecture", timeout=120,
            hint="Install docker/requirements.txt in the image and copy both files into ${LAMBDA_TASK_ROOT}.")
def contents(ctx):
    _, tag = _image(ctx)
    probe = "import os, sklearn; print(sklearn.__version__); print(' '.join(sorted(os.listdir('/var/task'))))"
    done = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "/var/lang/bin/python",
                           tag, "-c", probe], capture_output=True, text=True, timeout=100)
    if done.returncode != 0:
        raise CheckFailed(f"python in the image failed: {done.stderr.strip().splitlines()[-1:]}")
    version, files = done.stdout.strip().splitlines()
    trained = json.loads((ctx.settings.model_dir / "metadata.json").read_text())["sklearn_version"]
    problems = [f"/var/task lacks {name}" for name in ("app.py", "model.joblib") if name not in files.split()]
    if version != trained:
        problems.append(f"the image has scikit-learn {version}, the model was trained with {trained}")
    if problems:
        raise CheckFailed("; ".join(problems))


@STEP.check("the image fits the size budget", points=1, needs="the image builds for the function's architecture",
            hint="Install only what the handler needs (docker/requirements.txt) and use --no-cache-dir with pip.")
def size_budget(ctx):
    image, tag = _image(ctx)
    size_mb = images.describe(tag).size_bytes / 1e6
    if size_mb > SIZE_BUDGET_MB:
        raise CheckFailed(f"{size_mb:,.0f} MB is over the lab's {SIZE_BUDGET_MB:,} MB budget")
    return f"{size_mb:,.0f} MB of a {SIZE_BUDGET_MB:,} MB budget (Lambda's limit: 10 GB)"


@STEP.check("run locally under the RIE, the packaged function answers right and refuses bad input", points=3,
            timeout=180, hint="run_local() starts the emulator; invoke() POSTs an event to "
                              "/2015-03-31/functions/function/invocations.")
def answers_locally(ctx):
    image, tag = _image(ctx)
    target = tag if tag is not None else images.stage(ctx.settings, config.code_dir(ctx.settings))
    if tag is not None and subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode:
        raise CheckFailed(f"image {tag} does not exist; build it first")
    with images.run_local(ctx.settings, target) as local:
        good, _ = local.invoke(load_event(body=SETOSA))
        bad, _ = local.invoke(load_event(raw_body="{not json"))
    if not (isinstance(good, dict) and good.get("statusCode") == 200 and json.loads(good["body"]).get("prediction") == "setosa"):
        raise CheckFailed(f"a setosa got {str(good)[:120]}")
    if not (isinstance(bad, dict) and 400 <= bad.get("statusCode", 0) < 500):
        raise CheckFailed(f"invalid JSON got {str(bad)[:120]}")
    return "in a container" if tag else "in host mode, from the staged folder"
